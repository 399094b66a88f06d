using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Proc;

/// <summary>What /proc shows about one process.</summary>
internal sealed record ProcProcess(int Pid, Task Leader, int ParentPid, int ProcessGroup, int Session, string Comm, char State,
    IReadOnlyList<Task> Threads, IReadOnlyList<string> Argv, IReadOnlyList<string> Environment, long StartTimeNs, VfsPath? Exe);

internal sealed partial class ProcFileSystem
{
    /// <summary>
    /// Enumerates the sandbox's processes for /proc. Set by the kernel at boot (task bookkeeping
    /// lives on the execution side); until then /proc shows the calling task only.
    /// </summary>
    public static Func<Kernel.Kernel, IEnumerable<ProcProcess>>? ProcessSource { get; set; }

    /// <summary>Describes the process of a task for /proc (set with <see cref="ProcessSource"/>).</summary>
    public static Func<Task, ProcProcess>? TaskDescriber { get; set; }

    /// <summary>The task whose system call is running on this thread (each task has its own thread).</summary>
    [ThreadStatic] internal static Task? CallerTask;

    /// <summary>The process of <paramref name="t"/>.</summary>
    public static ProcProcess Describe(Task t)
        => TaskDescriber?.Invoke(t) ?? new ProcProcess(t.Tid, t, 0, t.Tid, t.Tid, "app", 'R', new[] { t }, Array.Empty<string>(), Array.Empty<string>(), 0, t.Kernel.Vfs.ExecutableOf(t));

    private IEnumerable<ProcProcess> Processes()
    {
        var caller = CallerTask;
        if (caller != null && ProcessSource != null) return ProcessSource(caller.Kernel);
        return caller != null ? new[] { Describe(caller) } : Array.Empty<ProcProcess>();
    }

    private ProcProcess? FindProcess(int pid) => Processes().FirstOrDefault(p => p.Pid == pid);
}
