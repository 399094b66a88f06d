using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel;

/// <summary>Opens an executable for execve; see <see cref="VirtualFileSystem.OpenExecutable"/>.</summary>
internal delegate int ExecutableOpener(Task task, string path, out FileDescription? file, out string resolvedPath);

/// <summary>Who sends a signal, which decides whether PID-namespace init may receive it.</summary>
internal enum SignalSource
{
    /// <summary>A process of the sandbox (kill, tgkill, sigqueue...).</summary>
    User,
    /// <summary>The kernel on its own behalf (SIGCHLD, SIGALRM, SIGPIPE, tty signals).</summary>
    Kernel,
    /// <summary>A synchronous fault of the receiving task (forced, even to init).</summary>
    Fault,
    /// <summary>The host side (runsc-net kill): an ancestor PID namespace.</summary>
    Outside,
}

internal sealed partial class Kernel
{
    /// <summary>The PID space size (pid_max).</summary>
    public const int PidMax = 4_194_304;

    /// <summary>
    /// Guards the process tree, PID tables, process groups and sessions, and all signal state
    /// (pending queues, masks, dispositions, stop state). Never held across a block or a host wait.
    /// </summary>
    public object TaskLock { get; } = new();

    /// <summary>The platform that runs application code.</summary>
    public IPlatform Platform { get; set; } = null!;

    /// <summary>The system-call table the task loop dispatches through.</summary>
    public required SyscallTable Syscalls { get; init; }

    /// <summary>How execve opens files (the VFS by default; tests substitute host files).</summary>
    public ExecutableOpener OpenExecutable { get; set; }

    /// <summary>
    /// How execve opens a PT_INTERP dynamic linker: a plain read-only open (so /proc/pid/exe keeps
    /// naming the program); tests substitute host files.
    /// </summary>
    public ExecutableOpener OpenInterpreter { get; set; }

    /// <summary>The debug log.</summary>
    public DebugLog Log { get; set; } = DebugLog.Null;

    /// <summary>Calls the table has no handler for, counted per program (`runsc-net debug --unimplemented`).</summary>
    public UnimplementedCalls Unimplemented { get; } = new();

    /// <summary>Log every system call (--strace).</summary>
    public bool Strace { get; set; }

    /// <summary>The UTS hostname.</summary>
    public string Hostname { get; set; } = "localhost";

    /// <summary>The UTS domain name.</summary>
    public string Domainname { get; set; } = "(none)";

    /// <summary>
    /// True when the spec's UTS namespace is the caller's or one joined by path: its names belong
    /// to host processes too, and the Sentry (without CAP_SYS_ADMIN over it) cannot change them
    /// there, so sethostname and setdomainname fail with EPERM instead of changing a private copy.
    /// </summary>
    public bool UtsShared { get; set; }

    /// <summary>When the sandbox's kernel started (for uptime and process start times).</summary>
    public long BootTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    private readonly Dictionary<int, Task> _tasks = new();
    private readonly Dictionary<int, ThreadGroup> _groups = new();
    private readonly Dictionary<int, ProcessGroup> _processGroups = new();
    // PID 1 is the root container's init (CreateInit starts again from 0): processes made before
    // it, such as a joined container's init started first, must not take it.
    private int _lastPid = 1;

    /// <summary>The container's init (pid 1) once started.</summary>
    public ThreadGroup? Init { get; private set; }

    /// <summary>Set when init has exited; <see cref="InitExitStatus"/> holds its wait status.</summary>
    public ManualResetEventSlim InitExited { get; } = new(false);

    /// <summary>Init's wait status after <see cref="InitExited"/>.</summary>
    public int InitExitStatus { get; private set; }

    /// <summary>A kernel with no tasks.</summary>
    public Kernel()
    {
        OpenExecutable = (Task t, string p, out FileDescription? f, out string r) => Vfs.OpenExecutable(t, p, out f, out r);
        OpenInterpreter = (Task t, string p, out FileDescription? f, out string r) =>
        {
            r = p;
            return Vfs.Open(t, -100, p, 0, 0, out f);
        };
        InstallProcHooks();
    }

    /// <summary>Allocates a free PID. Caller holds <see cref="TaskLock"/>.</summary>
    internal int AllocatePidLocked()
    {
        for (int n = 0; n < PidMax; n++)
        {
            int pid = _lastPid + 1;
            if (pid >= PidMax) pid = 2;
            _lastPid = pid;
            if (!_tasks.ContainsKey(pid) && !_groups.ContainsKey(pid) && !_processGroups.ContainsKey(pid)) return pid;
        }
        return -Errno.EAGAIN;
    }

    /// <summary>The task with thread ID <paramref name="tid"/>, or null.</summary>
    public Task? TaskByTid(int tid)
    {
        lock (TaskLock) return _tasks.TryGetValue(tid, out var t) ? t : null;
    }

    /// <summary>The process with ID <paramref name="pid"/> (zombies included), or null.</summary>
    public ThreadGroup? ThreadGroupByPid(int pid)
    {
        lock (TaskLock) return _groups.TryGetValue(pid, out var g) ? g : null;
    }

    /// <summary>The process group <paramref name="pgid"/>, or null.</summary>
    public ProcessGroup? ProcessGroupById(int pgid)
    {
        lock (TaskLock) return _processGroups.TryGetValue(pgid, out var g) ? g : null;
    }

    /// <summary>Every process (zombies included), by PID (/proc, ps).</summary>
    public IReadOnlyList<ThreadGroup> ThreadGroups()
    {
        lock (TaskLock) return _groups.Values.OrderBy(g => g.Tgid).ToArray();
    }

    /// <summary>Every live task, by TID.</summary>
    public IReadOnlyList<Task> Tasks()
    {
        lock (TaskLock) return _tasks.Values.OrderBy(t => t.Tid).ToArray();
    }

    internal void RegisterLocked(Task t)
    {
        _tasks[t.Tid] = t;
        ((ThreadGroup?)t.ThreadGroup)?.PidNamespace?.AddLocked(t.Tid);
    }

    internal void RegisterLocked(ThreadGroup g)
    {
        _groups[g.Tgid] = g;
        g.PidNamespace?.AddLocked(g.Tgid);
    }

    internal void UnregisterTaskLocked(Task t)
    {
        _tasks.Remove(t.Tid);
        // A thread group keeps its leader's ID until it is reaped.
        if (!_groups.ContainsKey(t.Tid)) ((ThreadGroup?)t.ThreadGroup)?.PidNamespace?.RemoveLocked(t.Tid);
    }

    internal void UnregisterGroupLocked(ThreadGroup g)
    {
        _groups.Remove(g.Tgid);
        LeaveProcessGroupLocked(g);
        if (!_tasks.ContainsKey(g.Tgid)) g.PidNamespace?.RemoveLocked(g.Tgid);
    }

    internal ProcessGroup JoinProcessGroupLocked(ThreadGroup g, int pgid, Session session)
    {
        if (!_processGroups.TryGetValue(pgid, out var pg))
        {
            pg = new ProcessGroup(pgid, session);
            _processGroups[pgid] = pg;
        }
        pg.Members.Add(g);
        g.ProcessGroup = pg;
        return pg;
    }

    internal void LeaveProcessGroupLocked(ThreadGroup g)
    {
        var pg = g.ProcessGroup;
        if (pg == null) return;
        pg.Members.Remove(g);
        if (pg.Members.Count == 0) _processGroups.Remove(pg.Id);
    }

    /// <summary>
    /// Creates the container's init process (pid 1, its own session and process group) without
    /// starting it. <see cref="Task.StartProcess"/> runs it.
    /// </summary>
    public Task CreateInit(Credentials creds, Rlimits limits)
    {
        lock (TaskLock)
        {
            _lastPid = 0;
            var t = CreateProcessLocked(creds, limits);
            Init = t.ThreadGroup;
            return t;
        }
    }

    /// <summary>
    /// Creates a process with no parent in the sandbox, in a new session (`runsc-net exec`; the
    /// control side waits for it). <see cref="Task.StartProcess"/> runs it.
    /// </summary>
    public Task CreateOrphanProcess(Credentials creds, Rlimits limits, PidNamespace? pidNamespace = null)
    {
        lock (TaskLock) return CreateProcessLocked(creds, limits, pidNamespace);
    }

    private Task CreateProcessLocked(Credentials creds, Rlimits limits, PidNamespace? pidNamespace = null)
    {
        int pid = AllocatePidLocked();
        if (pid < 0) throw new InvalidOperationException("no free process IDs");
        var tg = new ThreadGroup(this, pid) { Limits = limits, PidNamespace = pidNamespace };
        var t = new Task(this, pid, creds, Task.NoMemory.Instance) { ThreadGroup = tg, Name = "init" };
        tg.Tasks.Add(t);
        tg.SetLeader(t);
        JoinProcessGroupLocked(tg, pid, new Session(pid));
        RegisterLocked(tg);
        RegisterLocked(t);
        return t;
    }

    /// <summary>Drops a zombie nobody will wait for (a parentless process the control side collected).</summary>
    public void Release(ThreadGroup tg)
    {
        lock (TaskLock)
            if (tg.Zombie && tg.Parent == null && !tg.IsInit) UnregisterGroupLocked(tg);
    }

    /// <summary>Called when init's last task has exited.</summary>
    internal void OnInitExited(int status)
    {
        InitExitStatus = status;
        InitExited.Set();
    }

    /// <summary>Sends a process-directed signal (kill(2)).</summary>
    public void SendSignalToGroup(ThreadGroup tg, SignalInfo info, SignalSource source)
    {
        lock (TaskLock) SendSignalLocked(tg, null, info, source);
    }

    /// <summary>
    /// Sends a kernel-generated signal to every process of process group <paramref name="pgid"/>
    /// (kill_pgrp, as a terminal does for ^C or a resize). Returns false if there is no such group.
    /// </summary>
    public bool SignalProcessGroup(int pgid, int signal)
    {
        lock (TaskLock)
        {
            if (!_processGroups.TryGetValue(pgid, out var group)) return false;
            foreach (var g in group.Members.ToArray()) SendSignalLocked(g, null, SignalInfo.FromKernel(signal), SignalSource.Kernel);
            return true;
        }
    }

    /// <summary>Sends a thread-directed signal (tgkill(2), faults).</summary>
    public void SendSignalToTask(Task t, SignalInfo info, SignalSource source)
    {
        lock (TaskLock) SendSignalLocked(t.ThreadGroup, t, info, source);
    }

    /// <summary>
    /// Queues a signal for <paramref name="tg"/> (or its thread <paramref name="target"/>), applying
    /// the side effects of SIGKILL, SIGCONT and stop signals at generation time, the PID-namespace
    /// init protection, and discarding ignored signals. Caller holds <see cref="TaskLock"/>.
    /// Returns false if the signal was dropped.
    /// </summary>
    internal bool SendSignalLocked(ThreadGroup tg, Task? target, SignalInfo info, SignalSource source)
    {
        int sig = info.Signo;
        if (tg.Zombie || tg.Tasks.Count == 0) return false;
        var action = tg.Handlers.Actions[sig];
        bool blocked = target != null
            ? (target.SignalMask & Signal.Bit(sig) & ~Signal.Unblockable) != 0
            : tg.Tasks.TrueForAll(t => (t.SignalMask & Signal.Bit(sig) & ~Signal.Unblockable) != 0);
        // Init drops default-action signals it has not blocked (a blocked one stays queued for
        // sigwait/signalfd, as on Linux, and is dropped if it is ever unblocked with SIG_DFL).
        if ((tg.IsInit || tg.IsNamespaceInit) && action.Handler == SigAction.Default && !blocked)
        {
            bool allowed = source == SignalSource.Fault ||
                (source == SignalSource.Outside && (sig == Signal.SIGKILL || sig == Signal.SIGSTOP));
            if (!allowed) return false;
        }

        if (sig == Signal.SIGKILL)
        {
            // Fatal at once: wake every task, even stopped ones.
            tg.Stopped = false;
            tg.StopEvents.Notify();
        }
        else if (sig == Signal.SIGCONT)
        {
            tg.Pending.Discard(Signal.StopSet);
            foreach (var t in tg.Tasks) t.Pending.Discard(Signal.StopSet);
            if (tg.Stopped)
            {
                tg.Stopped = false;
                tg.StopReportPending = false;
                tg.ContinueReportPending = true;
                tg.ContinueNotifyPending = true;   // sent by the child when it runs (Task.HandleSignalsAndStops)
                tg.StopEvents.Notify();
            }
        }
        else if ((Signal.StopSet & Signal.Bit(sig)) != 0)
        {
            tg.Pending.Discard(Signal.Bit(Signal.SIGCONT));
            foreach (var t in tg.Tasks) t.Pending.Discard(Signal.Bit(Signal.SIGCONT));
        }

        if (!blocked && tg.Handlers.IsIgnored(sig) && source != SignalSource.Fault) return false;

        var queue = target != null ? target.Pending : tg.Pending;
        if (!queue.Enqueue(info)) return true;   // merged with an identical pending standard signal
        tg.SignalEvents.Notify();

        if (target != null)
        {
            if ((target.SignalMask & Signal.Bit(sig) & ~Signal.Unblockable) == 0 || (target.SigWaitSet & Signal.Bit(sig)) != 0)
                target.WakeForSignal();
        }
        else
        {
            foreach (var t in tg.Tasks)
            {
                if ((t.SignalMask & Signal.Bit(sig) & ~Signal.Unblockable) != 0 && sig != Signal.SIGKILL &&
                    (t.SigWaitSet & Signal.Bit(sig)) == 0) continue;
                t.WakeForSignal();
                if (sig != Signal.SIGKILL) break;
            }
        }
        return true;
    }

    /// <summary>
    /// Tells <paramref name="child"/>'s parent about a stop or continue (CLD_STOPPED/CLD_CONTINUED):
    /// SIGCHLD unless the parent set SA_NOCLDSTOP, and a wake-up of its waiters.
    /// </summary>
    internal void NotifyParentLocked(ThreadGroup child, int code, int status)
    {
        var parent = child.Parent;
        if (parent == null) return;
        if ((parent.Handlers.Actions[Signal.SIGCHLD].Flags & SigActionFlags.SA_NOCLDSTOP) == 0)
        {
            var info = new SignalInfo { Signo = Signal.SIGCHLD, Code = code, Pid = parent.PidNamespace?.LocalOf(child.Tgid) ?? child.Tgid, Uid = child.Leader.Credentials.Uid, Status = status };
            SendSignalLocked(parent, null, info, SignalSource.Kernel);
        }
        parent.ChildEvents.Notify();
    }

    /// <summary>Kills every process of the sandbox (init exited, or a forced stop).</summary>
    public void KillAll()
    {
        lock (TaskLock)
        {
            foreach (var g in _groups.Values)
                SendSignalLocked(g, null, SignalInfo.FromKernel(Signal.SIGKILL), SignalSource.Outside);
        }
    }
}

internal sealed partial class Kernel
{
    /// <summary>The futex wait queues.</summary>
    public FutexTable Futexes { get; } = new();

    /// <summary>True while the sandbox is paused (`runsc-net pause`).</summary>
    public bool Paused { get; private set; }

    /// <summary>Woken when the sandbox resumes.</summary>
    public WaitQueue PauseEvents { get; } = new();

    /// <summary>Stops every task at its next return to the application until <see cref="ResumeAll"/>.</summary>
    public void PauseAll()
    {
        Paused = true;
        foreach (var t in Tasks()) t.WakeForSignal();
    }

    /// <summary>Coordinates checkpoints: every task's registers taken at a safe point.</summary>
    public CheckpointGate Checkpoints { get; } = new();

    /// <summary>Lets paused tasks run again.</summary>
    public void ResumeAll()
    {
        Paused = false;
        PauseEvents.Notify();
    }

    private readonly object _pauseLock = new();

    // Replaced, never changed in place: tasks read it without a lock at every return to the application.
    private volatile string[] _pausedContainers = [];

    /// <summary>True while <paramref name="tg"/> must not run: the sandbox or its container is paused.</summary>
    public bool IsPaused(ThreadGroup tg) => Paused || (_pausedContainers.Length > 0 && Array.IndexOf(_pausedContainers, tg.ContainerId) >= 0);

    /// <summary>
    /// Stops the tasks of container <paramref name="containerId"/> ("" the root container's) at
    /// their next return to the application until <see cref="ResumeContainer"/>.
    /// </summary>
    public void PauseContainer(string containerId)
    {
        lock (_pauseLock)
            if (Array.IndexOf(_pausedContainers, containerId) < 0) _pausedContainers = [.. _pausedContainers, containerId];
        foreach (var t in Tasks())
            if (t.ThreadGroup.ContainerId == containerId) t.WakeForSignal();
    }

    /// <summary>Lets the paused tasks of container <paramref name="containerId"/> run again.</summary>
    public void ResumeContainer(string containerId)
    {
        lock (_pauseLock) _pausedContainers = _pausedContainers.Where(c => c != containerId).ToArray();
        PauseEvents.Notify();
    }
}
