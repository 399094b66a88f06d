using System.Diagnostics;
using System.Text;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs.Proc;

namespace RunscNet.Sentry.Kernel;

/// <summary>What /proc learns from the execution side: processes, their state and command lines.</summary>
internal sealed partial class Kernel
{
    private static bool _procHooksInstalled;

    /// <summary>Points procfs at the kernel's task bookkeeping (once per process).</summary>
    internal static void InstallProcHooks()
    {
        if (_procHooksInstalled) return;
        _procHooksInstalled = true;
        ProcFileSystem.ProcessSource = k =>
        {
            var viewer = ProcFileSystem.CallerTask;
            var list = k.ThreadGroups().Where(g => (g.Tasks.Count > 0 || g.Zombie) && (viewer == null || k.CanSee(viewer, g)))
                .Select(g => viewer == null ? Describe(g) : DescribeFor(viewer, g)).ToArray();
            // A task made outside the task factory (unit tests of the file side) sees itself.
            if (list.Length == 0 && ProcFileSystem.CallerTask is { } caller) return new[] { ProcFileSystem.Describe(caller) };
            return list;
        };
        ProcFileSystem.TaskDescriber = t => (ThreadGroup?)t.ThreadGroup is { } g ? DescribeFor(t, g)
            : new ProcProcess(t.Tid, t, 0, t.Tid, t.Tid, t.Name, 'R', new[] { t }, Array.Empty<string>(), Array.Empty<string>(), 0, t.Kernel.Vfs.ExecutableOf(t));
        ProcFileSystem.HostnameOf = t => t.Kernel.Hostname;
    }

    /// <summary>The /proc view of process <paramref name="g"/>.</summary>
    public static ProcProcess Describe(ThreadGroup g)
    {
        var k = g.Kernel;
        Task leader;
        Task[] threads;
        char state;
        lock (k.TaskLock)
        {
            leader = g.Leader;
            threads = g.Tasks.ToArray();
            // Running: in user code, or at work in the Sentry (a thread in the kernel, on Linux) —
            // which includes a task reading /proc about itself. Sleeping: every live thread waits.
            state = g.Zombie ? 'Z' : g.Stopped ? 'T'
                : threads.Any(t => !t.Exited && (t.IsRunningUserCode || !t.IsBlocked) || t == RunscNet.Sentry.Vfs.Proc.ProcFileSystem.CallerTask) ? 'R' : 'S';
        }
        var argv = new List<string>();
        var env = new List<string>();
        if (g.AddressSpace is { } mm && !g.Zombie && mm.Context != null)
        {
            var (a0, a1, e0, e1) = mm.ArgRanges;
            argv = ReadStrings(mm.Context.Memory, a0, a1);
            env = ReadStrings(mm.Context.Memory, e0, e1);
        }
        long startNs = (long)((g.StartTimestamp - k.BootTimestamp) * (1e9 / Stopwatch.Frequency));
        return new ProcProcess(g.Tgid, leader, g.ParentPid, g.ProcessGroup?.Id ?? g.Tgid, g.ProcessGroup?.Session.Id ?? g.Tgid,
            leader.Name, state, threads, argv, env, startNs, k.Vfs.ExecutableOf(leader));
    }

    /// <summary>
    /// <see cref="Describe(ThreadGroup)"/> with the process's IDs as <paramref name="viewer"/>'s PID
    /// namespace numbers them (0 for a parent, group or session outside it).
    /// </summary>
    public static ProcProcess DescribeFor(Task viewer, ThreadGroup g)
    {
        var p = Describe(g);
        var k = g.Kernel;
        if (((ThreadGroup?)viewer.ThreadGroup)?.PidNamespace == null) return p;
        return p with
        {
            Pid = k.IdSeenBy(viewer, p.Pid), ParentPid = k.IdSeenBy(viewer, p.ParentPid),
            ProcessGroup = k.IdSeenBy(viewer, p.ProcessGroup), Session = k.IdSeenBy(viewer, p.Session),
        };
    }

    private static List<string> ReadStrings(IMemoryIO mem, ulong start, ulong end)
    {
        var result = new List<string>();
        if (end <= start || end - start > 1 << 20) return result;
        var buf = new byte[end - start];
        int n = mem.Read(start, buf);
        foreach (var s in Memory.LinuxText.Decode(buf.AsSpan(0, n)).Split('\0'))
            if (s.Length > 0) result.Add(s);
        return result;
    }
}
