using RunscNet.Sentry.Memory;
namespace RunscNet.Sentry.Kernel;

/// <summary>What a wait4/waitid call found.</summary>
internal readonly record struct WaitResult(int Pid, int Status, int Code, int SigStatus, uint Uid);

internal sealed partial class Task
{
    /// <summary>wait options.</summary>
    public const int WNOHANG = 1, WUNTRACED = 2, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000,
        __WNOTHREAD = 0x20000000, __WALL = 0x40000000, __WCLONE = unchecked((int)0x80000000);

    /// <summary>exit_group(2) / a fatal signal's end: ends every task of the process with <paramref name="status"/>.</summary>
    public void ExitGroup(int status)
    {
        lock (Kernel.TaskLock) StartGroupExitLocked(status);
    }

    private volatile bool _threadExitRequested;
    private int _threadExitCode;

    /// <summary>True once this thread alone must end (exit(2), or another thread's execve).</summary>
    internal bool ThreadExitRequested => _threadExitRequested;

    /// <summary>
    /// exit(2): ends this thread only, at its return to the application. When it is the last
    /// thread, the process exits with <paramref name="code"/>.
    /// </summary>
    public void ExitThread(int code)
    {
        _threadExitCode = code & 0xff;
        _threadExitRequested = true;
    }

    /// <summary>Makes another thread of the process end (execve's de-thread). Caller holds the task lock.</summary>
    internal void KillThreadLocked()
    {
        _threadExitRequested = true;
        WakeForSignal();
    }

    /// <summary>
    /// Ends this task on its own thread: CLONE_CHILD_CLEARTID (zero the word, wake one futex
    /// waiter: pthread_join), ends its platform thread (the last thread kills the stub), and
    /// when it is the last task of the process, closes its files, reparents its children to
    /// init, becomes a zombie and tells the parent (or is reaped at once when the parent
    /// ignores SIGCHLD).
    /// </summary>
    internal void ExitTask()
    {
        if (Exited) return;
        var tg = ThreadGroup;
        tg.CpuNanosAtExit = CpuNanos();
        long peakKb = PeakRssKb();
        lock (Kernel.TaskLock) tg.MaxRssKb = Math.Max(tg.MaxRssKb, peakKb);
        ReleaseRobustFutexes();
        ulong clearTid = ClearChildTid;
        if (clearTid != 0 && Context != null)
        {
            ClearChildTid = 0;
            if (Memory.CopyOutStruct(clearTid, 0) == 0)
                Kernel.Futexes.Wake(this, clearTid, 1, uint.MaxValue, priv: false);
        }
        var mm = tg.AddressSpace;
        var ownContext = Context;
        if (mm != null && ownContext != null && mm.Context == ownContext)
        {
            // /proc and other readers use the address space's context for memory: hand it to
            // a thread that stays.
            lock (Kernel.TaskLock)
            {
                foreach (var other in tg.Tasks)
                    if (other != this && other.Context is { } c && !other.Exited) { mm.Context = c; break; }
            }
        }
        try
        {
            Context?.Dispose();
        }
        catch (Exception e)
        {
            Kernel.Log.Write($"task {Tid}: disposing its stub: {e.Message}");
        }
        bool lastTask;
        bool isInit = false;
        int status = 0;
        List<(ThreadGroup, int)> deathSignals = new();
        lock (Kernel.TaskLock)
        {
            Exited = true;
            tg.Tasks.Remove(this);
            Kernel.UnregisterTaskLocked(this);
            lastTask = tg.Tasks.Count == 0;
            tg.TaskExitEvents.Notify();
            Kernel.Log.Write($"task {Tid} of process {tg.Tgid} exited ({tg.Tasks.Count} threads left)");
            if (lastTask && !tg.Exiting)
            {
                tg.Exiting = true;
                tg.ExitStatus = WaitStatus.Exited(_threadExitCode);
            }
        }
        // Files close before the parent can see the zombie (exit_files before exit_notify): a
        // parent that waited finds the child's record locks released and its pipe ends closed.
        if (lastTask) OnProcessExit();
        lock (Kernel.TaskLock)
        {
            if (lastTask)
            {
                status = tg.ExitStatus;
                isInit = tg.IsInit;
                tg.RealTimer.Cancel();
                tg.VirtualTimer.Cancel();
                tg.ProfTimer.Cancel();
                tg.PosixTimers.DeleteAll();
                Kernel.ReleaseIpcOf(tg);
                var reaper = tg.PidNamespace is { Init: { } nsInit } ? nsInit : Kernel.Init;
                foreach (var child in tg.Children.ToArray())
                {
                    foreach (var ct in child.Tasks)
                        if (ct.ParentDeathSignal != 0) deathSignals.Add((child, ct.ParentDeathSignal));
                    if (reaper != null && reaper != tg && !reaper.Zombie)
                    {
                        child.Parent = reaper;
                        reaper.Children.Add(child);
                        if (child.Zombie) reaper.ChildEvents.Notify();
                    }
                    else
                    {
                        child.Parent = null;
                        if (child.Zombie) Kernel.UnregisterGroupLocked(child);
                    }
                }
                tg.Children.Clear();
                tg.Zombie = true;
                var parent = tg.Parent;
                if (parent != null)
                {
                    var chld = parent.Handlers.Actions[Signal.SIGCHLD];
                    bool autoReap = chld.Handler == SigAction.Ignore || (chld.Flags & SigActionFlags.SA_NOCLDWAIT) != 0;
                    if (tg.ExitSignal != 0 && !autoReap)
                    {
                        var (code, st) = WaitStatus.ToChildInfo(status);
                        var info = new SignalInfo { Signo = tg.ExitSignal, Code = code, Pid = parent.PidNamespace?.LocalOf(tg.Tgid) ?? tg.Tgid, Uid = Credentials.Uid, Status = st };
                        Kernel.SendSignalLocked(parent, null, info, SignalSource.Kernel);
                    }
                    if (autoReap)
                    {
                        parent.Children.Remove(tg);
                        Kernel.UnregisterGroupLocked(tg);
                    }
                    parent.ChildEvents.Notify();
                }
                tg.VforkDone?.Set();
                tg.ExitedEvent.Set();
                tg.ExitEvents.Notify();
                if (parent == null && tg.ReleaseOnExit && !tg.IsInit) Kernel.UnregisterGroupLocked(tg);
                foreach (var (child, sig) in deathSignals)
                    Kernel.SendSignalLocked(child, null, SignalInfo.FromKernel(sig), SignalSource.Kernel);
            }
        }
        if (lastTask)
        {
            // An init that never got to run (its exec failed) leaves the sandbox up, so the
            // control side can report the error; the runtime then deletes the sandbox.
            if (isInit && tg.HasRun)
            {
                Kernel.KillAll();
                Kernel.OnInitExited(status);
            }
        }
    }

    /// <summary>
    /// wait4/waitid: waits for a child selected by <paramref name="idtype"/> (P_ALL 0, P_PID 1,
    /// P_PGID 2) and <paramref name="id"/> to change state. Returns 0 with the result (its Pid as
    /// this task's PID namespace numbers it, taken before the child is reaped), 0 with
    /// Pid = 0 for WNOHANG without a change, or -ECHILD / -ERESTARTSYS.
    /// </summary>
    public int Wait(int idtype, int id, int options, out WaitResult result)
    {
        result = default;
        var tg = ThreadGroup;
        WaitResult found = default;
        bool any = false;
        bool Check()
        {
            lock (Kernel.TaskLock)
            {
                any = false;
                foreach (var c in tg.Children)
                {
                    if (idtype == 1 && c.Tgid != id) continue;
                    if (idtype == 2 && c.ProcessGroup.Id != id) continue;
                    any = true;
                    if (c.Zombie && (options & WEXITED) != 0)
                    {
                        var (code, st) = WaitStatus.ToChildInfo(c.ExitStatus);
                        found = new WaitResult(Kernel.IdSeenBy(this, c.Tgid), c.ExitStatus, code, st, c.Leader.Credentials.Uid);
                        if ((options & WNOWAIT) == 0)
                        {
                            tg.Children.Remove(c);
                            tg.ChildrenCpuNanos += c.CpuNanosAtExit + c.ChildrenCpuNanos;
                            tg.ChildrenMaxRssKb = Math.Max(tg.ChildrenMaxRssKb, Math.Max(c.MaxRssKb, c.ChildrenMaxRssKb));
                            Kernel.UnregisterGroupLocked(c);
                        }
                        return true;
                    }
                    if (c.StopReportPending && c.Stopped && (options & WSTOPPED) != 0)
                    {
                        found = new WaitResult(Kernel.IdSeenBy(this, c.Tgid), WaitStatus.Stopped(c.StopSignal), SignalInfo.CLD_STOPPED, c.StopSignal, c.Leader.Credentials.Uid);
                        if ((options & WNOWAIT) == 0) c.StopReportPending = false;
                        return true;
                    }
                    if (c.ContinueReportPending && (options & WCONTINUED) != 0)
                    {
                        found = new WaitResult(Kernel.IdSeenBy(this, c.Tgid), WaitStatus.Continued, SignalInfo.CLD_CONTINUED, Signal.SIGCONT, c.Leader.Credentials.Uid);
                        if ((options & WNOWAIT) == 0) c.ContinueReportPending = false;
                        return true;
                    }
                }
                return false;
            }
        }

        bool done = false;
        var br = Block(() =>
        {
            if (Check()) { done = true; return true; }
            return !any || (options & WNOHANG) != 0;
        }, tg.ChildEvents);
        if (done)
        {
            result = found;
            return 0;
        }
        if (br == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        if (!any) return -Errno.ECHILD;
        return 0;   // WNOHANG, nothing yet
    }
}
