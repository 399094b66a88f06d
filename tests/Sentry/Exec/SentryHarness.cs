using System.Text;
using RunscNet.Sentry.Kernel;
using Task = RunscNet.Sentry.Kernel.Task;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Syscalls;

namespace RunscNet.Tests.Sentry.Exec;

/// <summary>
/// Runs programs from a host directory on the real ptrace platform, with the execution-side
/// system calls of the default table plus a test-only write(2)/writev(2) that captures fds 1 and 2.
/// </summary>
internal sealed class SentryHarness
{
    public static readonly string BusyboxRoot = FindBusyboxRoot();

    private readonly StringBuilder _output = new();

    public Kernel Kernel { get; }

    public SentryHarness(string root)
    {
        var table = new SyscallTable();
        foreach (var e in LinuxSyscalls.Table.Entries)
        {
            if (e.Number is 1 or 20) continue;
            if (e.Handler != null) table.Supported(e.Number, e.Name, e.Handler, e.Note);
            else table.Unimplemented(e.Number, e.Name, e.Note);
        }
        table.Supported(1, "write", Write);
        table.Supported(20, "writev", Writev);
        Kernel = new Kernel { Platform = new PtracePlatform(), Syscalls = table, OpenExecutable = HostFile.RootedAt(root), OpenInterpreter = HostFile.RootedAt(root) };
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private long Write(Task t, in SyscallArguments a)
    {
        if (a.A0 is not (1 or 2)) return -Errno.EBADF;
        var b = new byte[(int)Math.Min(a.A2, 1 << 20)];
        if (t.Memory.CopyIn(a.A1, b) != 0) return -Errno.EFAULT;
        lock (_output) _output.Append(Encoding.UTF8.GetString(b));
        return b.Length;
    }

    private long Writev(Task t, in SyscallArguments a)
    {
        if (a.A0 is not (1 or 2)) return -Errno.EBADF;
        long total = 0;
        for (ulong i = 0; i < a.A2; i++)
        {
            if (t.Memory.CopyInStruct(a.A1 + i * 16, out ulong b) != 0 || t.Memory.CopyInStruct(a.A1 + i * 16 + 8, out ulong n) != 0)
                return -Errno.EFAULT;
            long r = Write(t, new SyscallArguments(a.A0, b, n, 0, 0, 0));
            if (r < 0) return r;
            total += r;
        }
        return total;
    }

    /// <summary>Runs argv as init and returns its wait status (times out after 60 s with -1).</summary>
    public int Run(params string[] argv)
    {
        var init = Kernel.CreateInit(Credentials.Root, new Rlimits());
        // The shell finds applets on PATH; the busybox fixture (scripts/build-busybox-rootfs.sh) links most in /usr/bin.
        int err = init.StartProcess(argv[0], argv.ToList(), new List<string> { "PATH=/bin:/usr/bin", "HOME=/" });
        if (err < 0) return err;
        if (Kernel.InitExited.Wait(60_000)) return Kernel.InitExitStatus;
        foreach (var g in Kernel.ThreadGroups())
            lock (_output) _output.Append($"[hang] pid {g.Tgid} zombie={g.Zombie} stopped={g.Stopped} exiting={g.Exiting} children={g.Children.Count} pending={g.Pending.Set:x}\n");
        foreach (var t in Kernel.Tasks())
            lock (_output) _output.Append($"[hang] task {t.Tid} {t.Name} user={t.IsRunningUserCode} syscall={t.CurrentSyscall} interrupt={t.InterruptPending} mask={t.SignalMask:x} pending={t.Pending.Set:x} stub={t.Context?.HostPid} rip={t.Context?.Regs.Rip:x} phase={t.DebugPhase} hoststate={HostState(t.Context?.HostPid)}\n");
        return -1;
    }

    private static string HostState(int? pid)
    {
        try
        {
            return pid is int p ? string.Join(' ', File.ReadAllLines($"/proc/{p}/status").Where(l => l.StartsWith("State") || l.StartsWith("TracerPid"))) : "";
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// The busybox tree: RUNSC_NET_ROOTFS (the fixture scripts/test.sh builds, so CI runs these
    /// tests) or RUNSC_TEST_BUSYBOX_ROOT; "" when neither holds bin/busybox ([RootfsFact] skips then).
    /// </summary>
    private static string FindBusyboxRoot()
    {
        foreach (var dir in new[] { Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS"), Environment.GetEnvironmentVariable("RUNSC_TEST_BUSYBOX_ROOT") })
            if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, "bin/busybox"))) return dir;
        return "";
    }
}
