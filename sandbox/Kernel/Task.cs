using RunscNet.Sentry.Kernel.Seccomp;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// One application thread as the Sentry sees it. Each task runs on its own dedicated OS thread,
/// which is also the ptrace tracer of the task's stub thread. Subsystems add their state in
/// partial files: Task.Files.cs (fd table, fs context), Task.Signals.cs, Task.Run.cs, ...
/// </summary>
internal sealed partial class Task
{
    /// <summary>The kernel this task belongs to.</summary>
    public Kernel Kernel { get; }

    /// <summary>Thread ID in the sandbox's root PID namespace.</summary>
    public int Tid { get; internal set; }

    /// <summary>The task's credentials (copy-on-write: replace, never mutate a shared instance).</summary>
    public Credentials Credentials { get; set; }

    /// <summary>Memory of the task's current address space.</summary>
    public IMemoryIO Memory { get; internal set; }

    /// <summary>The process (thread group) this task belongs to.</summary>
    public ThreadGroup ThreadGroup { get; internal set; } = null!;

    /// <summary>Process ID (the thread group's ID).</summary>
    public int Pid => ThreadGroup.Tgid;

    /// <summary>Process group ID.</summary>
    public int ProcessGroupId => ThreadGroup.ProcessGroup.Id;

    /// <summary>Session ID.</summary>
    public int SessionId => ThreadGroup.Session.Id;

    private string _name = "";

    /// <summary>The command name (comm, at most 15 bytes), set by exec and PR_SET_NAME.</summary>
    public string Name
    {
        get => _name;
        set => _name = value.Length > 15 ? value[..15] : value;
    }

    /// <summary>The platform context running this task's application thread (null before the first exec).</summary>
    public IPlatformContext? Context { get; internal set; }

    /// <summary>The address space (shared by the thread group).</summary>
    public AddressSpace? AddressSpace => ThreadGroup.AddressSpace;

    /// <summary>set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when the task exits.</summary>
    public ulong ClearChildTid { get; set; }

    /// <summary>set_robust_list head.</summary>
    public ulong RobustList { get; set; }

    /// <summary>Nice value, -20..19 (setpriority(2)); inherited by clone.</summary>
    public int Nice { get; set; }

    /// <summary>Scheduling policy (sched_setscheduler(2); SCHED_OTHER = 0) and real-time priority; inherited by clone.</summary>
    public int SchedPolicy { get; set; }

    /// <summary>Real-time priority of <see cref="SchedPolicy"/> (0 for the normal policies).</summary>
    public int SchedPriority { get; set; }

    /// <summary>PR_SET_TIMERSLACK value in nanoseconds (Linux's default 50 µs); inherited by clone.</summary>
    public long TimerSlackNs { get; set; } = 50_000;

    /// <summary>PR_SET_PDEATHSIG signal (0: none).</summary>
    public int ParentDeathSignal { get; set; }

    /// <summary>PR_SET_NO_NEW_PRIVS.</summary>
    public bool NoNewPrivileges { get; set; }

    /// <summary>The seccomp mode and filters (immutable; fork, clone and execve keep them).</summary>
    public SeccompState Seccomp { get; set; } = SeccompState.None;

    /// <summary>The host OS thread serving this task.</summary>
    public Thread? Thread { get; internal set; }

    [ThreadStatic] private static Task? t_current;

    /// <summary>The task whose dedicated thread is the calling thread (null on any other thread).</summary>
    public static Task? Current => t_current;

    /// <summary>True once the task has exited (its thread is finishing or gone).</summary>
    public bool Exited { get; internal set; }

    /// <summary>Creates a task; the platform and thread-group wiring is done by the task factory.</summary>
    public Task(Kernel kernel, int tid, Credentials credentials, IMemoryIO memory)
    {
        Kernel = kernel;
        Tid = tid;
        Credentials = credentials;
        Memory = memory;
    }

    /// <summary>A memory accessor for a task with no address space yet.</summary>
    internal sealed class NoMemory : IMemoryIO
    {
        public static readonly NoMemory Instance = new();
        public int Read(ulong address, Span<byte> destination) => 0;
        public int Write(ulong address, ReadOnlySpan<byte> source) => 0;
    }
}
