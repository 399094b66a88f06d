using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// One application thread as the Sentry sees it. Each task runs on its own dedicated OS thread,
/// which is also the ptrace tracer of the task's stub thread. Subsystems add their state in
/// partial files: Task.Files.cs (fd table, fs context), Task.Signals.cs, ...
/// </summary>
public sealed partial class Task
{
    /// <summary>The kernel this task belongs to.</summary>
    public Kernel Kernel { get; }

    /// <summary>Thread ID in the sandbox's root PID namespace.</summary>
    public int Tid { get; internal set; }

    /// <summary>The task's credentials (copy-on-write: replace, never mutate a shared instance).</summary>
    public Credentials Credentials { get; set; }

    /// <summary>Memory of the task's current address space.</summary>
    public IMemoryIO Memory { get; internal set; }

    /// <summary>Creates a task; the platform and thread-group wiring is done by the task factory.</summary>
    public Task(Kernel kernel, int tid, Credentials credentials, IMemoryIO memory)
    {
        Kernel = kernel;
        Tid = tid;
        Credentials = credentials;
        Memory = memory;
    }
}
