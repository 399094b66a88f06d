using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A process: the tasks sharing one PID (thread group), its place in the process tree, signal
/// dispositions and shared pending signals, job-control state, exit status and limits. Fields
/// that other processes touch are guarded by <see cref="Kernel.TaskLock"/>.
/// </summary>
internal sealed class ThreadGroup
{
    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>Process ID (the leader's TID) in the sandbox's PID namespace.</summary>
    public int Tgid { get; }

    /// <summary>The tasks (threads) of the process.</summary>
    public List<Task> Tasks { get; } = new();

    /// <summary>The leader task (the first thread).</summary>
    public Task Leader => Tasks.Count > 0 ? Tasks[0] : _leader!;
    private Task? _leader;

    /// <summary>The parent process; null for init.</summary>
    public ThreadGroup? Parent { get; internal set; }

    /// <summary>Children (alive and zombie, not yet reaped).</summary>
    public List<ThreadGroup> Children { get; } = new();

    /// <summary>The process group.</summary>
    public ProcessGroup ProcessGroup { get; internal set; } = null!;

    /// <summary>The session (through the process group).</summary>
    public Session Session => ProcessGroup.Session;

    /// <summary>Signal dispositions (shared with CLONE_SIGHAND).</summary>
    public SignalHandlers Handlers { get; internal set; } = new();

    /// <summary>Process-directed pending signals.</summary>
    public SignalQueue Pending { get; } = new();

    /// <summary>Resource limits.</summary>
    public Rlimits Limits { get; internal set; } = new();

    /// <summary>The address space, shared by every thread of the process.</summary>
    public AddressSpace? AddressSpace { get; internal set; }

    /// <summary>Woken when a child exits, stops or continues (wait4 sleeps here).</summary>
    public WaitQueue ChildEvents { get; } = new();

    /// <summary>Woken when one of the process's tasks exits (execve waits here for the other threads to go).</summary>
    public WaitQueue TaskExitEvents { get; } = new();

    /// <summary>Woken on SIGCONT and SIGKILL (stopped tasks sleep here).</summary>
    public WaitQueue StopEvents { get; } = new();

    /// <summary>The signal sent to the parent when this process exits (SIGCHLD normally).</summary>
    public int ExitSignal { get; internal set; } = Signal.SIGCHLD;

    /// <summary>True once exit_group or a fatal signal started tearing the process down.</summary>
    public bool Exiting { get; internal set; }

    /// <summary>The wait status once the process has exited.</summary>
    public int ExitStatus { get; internal set; }

    /// <summary>True when every task has exited and the process waits to be reaped.</summary>
    public bool Zombie { get; internal set; }

    /// <summary>True while the group is stopped by a job-control signal.</summary>
    public bool Stopped { get; internal set; }

    /// <summary>The signal that stopped the group.</summary>
    public int StopSignal { get; internal set; }

    /// <summary>A stop the parent has not collected with WUNTRACED yet.</summary>
    public bool StopReportPending { get; internal set; }

    /// <summary>A continue the parent has not collected with WCONTINUED yet.</summary>
    public bool ContinueReportPending { get; internal set; }

    /// <summary>
    /// A SIGCONT ended a stop and the parent has not been sent its SIGCHLD (CLD_CONTINUED) yet:
    /// as on Linux, a thread of the continued process sends it when it next handles signals, not
    /// the sender of SIGCONT, so the parent learns of the continue only once the child runs.
    /// </summary>
    public bool ContinueNotifyPending { get; internal set; }

    /// <summary>True once a task of the process got to run application code (its exec or thread start succeeded).</summary>
    public bool HasRun { get; internal set; }

    /// <summary>PR_SET_CHILD_SUBREAPER.</summary>
    public bool IsSubreaper { get; set; }

    /// <summary>
    /// A parentless process whose exec caller is gone (an exec'd process restored from a
    /// checkpoint): nobody will collect it, so it is released when it exits.
    /// </summary>
    public bool ReleaseOnExit { get; set; }

    /// <summary>/proc/PID/oom_score_adj (-1000..1000), inherited by fork; and the floor below which only CAP_SYS_RESOURCE may lower it.</summary>
    public int OomScoreAdj { get; set; }

    /// <summary>Linux's oom_score_adj_min: the last value set by a task with CAP_SYS_RESOURCE.</summary>
    public int OomScoreAdjMin { get; set; }

    /// <summary>PR_SET_DUMPABLE (SUID_DUMP_USER = 1 by default, again after execve).</summary>
    public int Dumpable { get; set; } = 1;

    /// <summary>Start time (monotonic ticks, Stopwatch units) for /proc and ps.</summary>
    public long StartTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>CPU time (ns) of reaped children, for times(2) and getrusage(RUSAGE_CHILDREN).</summary>
    public long ChildrenCpuNanos { get; internal set; }

    /// <summary>Peak resident set (kB) this process's address spaces reached (recorded at exit), for ru_maxrss.</summary>
    public long MaxRssKb { get; internal set; }

    /// <summary>The largest peak resident set (kB) of a reaped child or its reaped descendants (RUSAGE_CHILDREN).</summary>
    public long ChildrenMaxRssKb { get; internal set; }

    /// <summary>
    /// CPU time (ns) a restored process had used before its checkpoint, less what its new stub
    /// used while it was rebuilt: its CPU clocks go on from the saved value (0 otherwise).
    /// </summary>
    public long CpuNanosBase { get; internal set; }

    /// <summary>CPU time (ns) this process had used when it exited.</summary>
    public long CpuNanosAtExit { get; internal set; }

    /// <summary>The ITIMER_REAL/alarm timer.</summary>
    public IntervalTimer RealTimer { get; }

    /// <summary>The ITIMER_VIRTUAL timer (process user CPU time; SIGVTALRM).</summary>
    public CpuIntervalTimer VirtualTimer { get; }

    /// <summary>The ITIMER_PROF timer (process user and system CPU time; SIGPROF).</summary>
    public CpuIntervalTimer ProfTimer { get; }

    /// <summary>The POSIX timers (timer_create); deleted at execve and exit.</summary>
    public PosixTimerTable PosixTimers { get; }

    /// <summary>Woken when a signal is queued for the process or one of its threads (signalfd readiness).</summary>
    public WaitQueue SignalEvents { get; } = new();

    /// <summary>Woken when the process becomes a zombie (pidfd readiness).</summary>
    public WaitQueue ExitEvents { get; } = new();

    /// <summary>Set once the process is a zombie (every task exited); the control side waits on it.</summary>
    public ManualResetEventSlim ExitedEvent { get; } = new(false);

    /// <summary>Set while a vfork child runs; the parent waits on it.</summary>
    internal ManualResetEventSlim? VforkDone { get; set; }

    /// <summary>A new, empty process with ID <paramref name="tgid"/>.</summary>
    public ThreadGroup(Kernel kernel, int tgid)
    {
        Kernel = kernel;
        Tgid = tgid;
        PosixTimers = new PosixTimerTable(this);
        RealTimer = new IntervalTimer(() => kernel.SendSignalToGroup(this, SignalInfo.FromKernel(Signal.SIGALRM) , SignalSource.Kernel));
        VirtualTimer = new CpuIntervalTimer(() => SampleCpu(1), () => kernel.SendSignalToGroup(this, SignalInfo.FromKernel(Signal.SIGVTALRM), SignalSource.Kernel));
        ProfTimer = new CpuIntervalTimer(() => SampleCpu(0), () => kernel.SendSignalToGroup(this, SignalInfo.FromKernel(Signal.SIGPROF), SignalSource.Kernel));
    }

    /// <summary>The stub process's host CPU clock of <paramref name="type"/> (0 PROF: user + system, 1 VIRT: user).</summary>
    private (int, long) SampleCpu(int type)
    {
        var ctx = AddressSpace?.Context;
        if (ctx == null) return (0, 0);
        long n = Interop.HostTime.Nanos((~ctx.HostPid << 3) | type);
        return (ctx.HostPid, Math.Max(0, n));
    }

    internal void SetLeader(Task t) => _leader = t;

    /// <summary>The process ID the parent sees (0 for init, whose parent is outside the sandbox).</summary>
    public int ParentPid => Parent?.Tgid ?? 0;

    /// <summary>True if this is the init of the sandbox's PID namespace.</summary>
    public bool IsInit => Tgid == 1;

    /// <summary>
    /// Init of a PID namespace: the sandbox's (<see cref="IsInit"/>) or a pod container's own,
    /// which, as on Linux, only receives the signals it has handlers for (and SIGKILL/SIGSTOP from outside).
    /// </summary>
    public bool IsNamespaceInit { get; set; }

    /// <summary>
    /// The container the process belongs to: "" for the sandbox's root container, else the ID of
    /// a container that joined the sandbox. Inherited by fork; decides which processes a
    /// container's kill, ps and delete reach.
    /// </summary>
    public string ContainerId { get; set; } = "";

    /// <summary>
    /// The PID namespace the process lives in below the sandbox's, or null for the sandbox's own
    /// (inherited by fork; set for a pod container with a PID namespace of its own).
    /// </summary>
    public PidNamespace? PidNamespace { get; init; }
}
