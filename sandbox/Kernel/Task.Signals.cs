using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    /// <summary>sigaltstack flags.</summary>
    public const int SS_ONSTACK = 1, SS_DISABLE = 2;

    /// <summary>Blocked signals (guarded by <see cref="Kernel.TaskLock"/> for writes).</summary>
    public ulong SignalMask { get; private set; }

    /// <summary>Thread-directed pending signals.</summary>
    public SignalQueue Pending { get; } = new();

    /// <summary>
    /// A mask to restore when the current system call returns without running a handler
    /// (sigsuspend, ppoll, pselect, epoll_pwait), or to save in the frame when one runs.
    /// </summary>
    public ulong? SavedSignalMask { get; set; }

    /// <summary>The alternate signal stack (sigaltstack(2)).</summary>
    public SignalFrame.AltStack AltStack { get; set; } = new(0, SS_DISABLE, 0);

    private int _inUser;

    /// <summary>True while the task's application code runs (not in a system call or blocked).</summary>
    public bool IsRunningUserCode => Volatile.Read(ref _inUser) != 0;

    /// <summary>Signals rt_sigtimedwait is waiting for (they wake the task even while blocked).</summary>
    internal ulong SigWaitSet { get; set; }

    /// <summary>Changes the disposition of <paramref name="signo"/>, discarding pending instances that become ignored.</summary>
    public SigAction SetAction(int signo, SigAction action)
    {
        lock (Kernel.TaskLock)
        {
            var tg = ThreadGroup;
            var old = tg.Handlers.Actions[signo];
            action.Mask &= ~Signal.Unblockable;
            tg.Handlers.Actions[signo] = action;
            if (tg.Handlers.IsIgnored(signo))
            {
                tg.Pending.Discard(Signal.Bit(signo));
                foreach (var t in tg.Tasks) t.Pending.Discard(Signal.Bit(signo));
            }
            return old;
        }
    }

    /// <summary>Sends <paramref name="signo"/> to this thread on the kernel's behalf (SIGPIPE, tty signals).</summary>
    public void SendSignal(int signo) =>
        Kernel.SendSignalToTask(this, SignalInfo.FromUser(signo, SignalInfo.SI_KERNEL, 0, 0), SignalSource.Kernel);

    /// <summary>Interrupts a blocking call and kicks the stub out of user code. Any thread.</summary>
    internal void WakeForSignal()
    {
        Interrupt();
        Thread.MemoryBarrier();
        if (Volatile.Read(ref _inUser) != 0) Context?.Kick();
    }

    /// <summary>Replaces the signal mask (SIGKILL and SIGSTOP stay unblocked).</summary>
    public void SetSignalMask(ulong mask)
    {
        lock (Kernel.TaskLock)
        {
            SignalMask = mask & ~Signal.Unblockable;
            if (HasDeliverableSignalLocked()) Interrupt();
        }
    }

    /// <summary>True if a signal is pending that the mask does not block. Caller holds the task lock.</summary>
    internal bool HasDeliverableSignalLocked() =>
        ((Pending.Set | ThreadGroup.Pending.Set) & ~SignalMask) != 0;

    /// <summary>The signals pending for this thread or its process (rt_sigpending).</summary>
    public ulong PendingSet()
    {
        lock (Kernel.TaskLock) return Pending.Set | ThreadGroup.Pending.Set;
    }

    /// <summary>
    /// The signal lines of /proc/PID/status: queued signals, this thread's pending set, the
    /// process's shared pending set, the blocked mask, and the ignored and caught dispositions.
    /// </summary>
    public (int Queued, ulong Pending, ulong SharedPending, ulong Blocked, ulong Ignored, ulong Caught) SignalStatus()
    {
        lock (Kernel.TaskLock)
        {
            ulong ignored = 0, caught = 0;
            var actions = ThreadGroup.Handlers.Actions;
            for (int i = 1; i <= Signal.Max; i++)
            {
                if (actions[i].Handler == SigAction.Ignore) ignored |= Signal.Bit(i);
                else if (actions[i].Handler != SigAction.Default) caught |= Signal.Bit(i);
            }
            return (Pending.Count + ThreadGroup.Pending.Count, Pending.Set, ThreadGroup.Pending.Set, SignalMask, ignored, caught);
        }
    }

    /// <summary>Dequeues the first pending signal in <paramref name="allowed"/> (rt_sigtimedwait). Caller holds the task lock.</summary>
    internal SignalInfo? DequeueLocked(ulong allowed)
    {
        int sig = Pending.First(allowed);
        if (sig != 0) return Pending.Dequeue(sig);
        sig = ThreadGroup.Pending.First(allowed);
        return sig != 0 ? ThreadGroup.Pending.Dequeue(sig) : null;
    }

    /// <summary>
    /// Turns a host fault of the stub into the application's signal. A blocked or ignored fault
    /// signal is forced to its default action, as Linux's force_sig does.
    /// </summary>
    internal void HandleFault(ReadOnlySpan<byte> hostInfo)
    {
        var info = SignalInfo.FromBytes(hostInfo);
        int sig = info.Signo;
        if (!Signal.IsValid(sig)) return;
        lock (Kernel.TaskLock)
        {
            var a = ThreadGroup.Handlers.Actions[sig];
            if ((SignalMask & Signal.Bit(sig)) != 0 || a.Handler == SigAction.Ignore)
            {
                ThreadGroup.Handlers.Actions[sig] = default;
                SignalMask &= ~Signal.Bit(sig);
            }
            Kernel.SendSignalLocked(ThreadGroup, this, info, SignalSource.Fault);
        }
    }

    /// <summary>
    /// Starts the exit of the whole process with wait status <paramref name="status"/> (exit_group,
    /// fatal signal). Caller holds the task lock.
    /// </summary>
    internal void StartGroupExitLocked(int status)
    {
        var tg = ThreadGroup;
        if (tg.Exiting) return;
        tg.Exiting = true;
        tg.ExitStatus = status;
        tg.Stopped = false;
        tg.StopEvents.Notify();
        foreach (var t in tg.Tasks) if (t != this) t.WakeForSignal();
    }

    /// <summary>
    /// True when death by <paramref name="sig"/> reports a core dump (WCOREDUMP): a core-dumping
    /// default action and a non-zero RLIMIT_CORE soft limit. Linux sets the flag only when it
    /// wrote a core; with a zero limit (the usual container default) it writes none.
    /// </summary>
    internal bool DumpsCore(int sig) =>
        Signal.DefaultActionOf(sig) == DefaultAction.CoreDump && ThreadGroup.Limits.Get(Rlimits.CORE).Cur > 0;

    /// <summary>A synchronous fault the kernel generated (positive si_code), which even init cannot ignore.</summary>
    private static bool IsForcedFault(SignalInfo info) =>
        info.Signo is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGILL or Signal.SIGFPE or Signal.SIGTRAP or Signal.SIGSYS &&
        info.Code > 0;

    private static bool IsRestartCode(long r) =>
        r == -Errno.ERESTARTSYS || r == -Errno.ERESTARTNOINTR || r == -Errno.ERESTARTNOHAND || r == -Errno.ERESTART_RESTARTBLOCK;

    /// <summary>
    /// Runs on the task thread before it returns to the application: group exit, job-control
    /// stops, then delivery of every deliverable signal (default actions or handler frames), with
    /// the system-call restart rules applied to <paramref name="syscallResult"/>. Returns false
    /// when the task must exit.
    /// </summary>
    internal bool HandleSignalsAndStops(long? syscallResult)
    {
        bool restartPending = syscallResult is long sr && IsRestartCode(sr);
        var tg = ThreadGroup;
        while (true)
        {
            ClearInterrupt();
            if (_threadExitRequested) return false;
            if (Kernel.IsPaused(tg) && !tg.Exiting)
            {
                // A safe point: a checkpoint takes the task's registers here (Kernel/CheckpointGate.cs).
                Kernel.Checkpoints.Park(this, restartPending ? syscallResult : null);
                Block(() => !Kernel.IsPaused(tg) || tg.Exiting || (PendingSet() & Signal.Bit(Signal.SIGKILL)) != 0 || Kernel.Checkpoints.Wants(this),
                    Kernel.PauseEvents);
                if (Kernel.IsPaused(tg) && (PendingSet() & Signal.Bit(Signal.SIGKILL)) == 0) continue;
            }
            SignalInfo? info;
            SigAction act;
            ulong oldMask;
            lock (Kernel.TaskLock)
            {
                if (tg.Exiting) return false;
                if (tg.ContinueNotifyPending && !tg.Stopped)
                {
                    tg.ContinueNotifyPending = false;
                    Kernel.NotifyParentLocked(tg, SignalInfo.CLD_CONTINUED, Signal.SIGCONT);
                }
                if (tg.Stopped)
                {
                    info = null;
                    act = default;
                    oldMask = 0;
                }
                else
                {
                    info = DequeueLocked(~SignalMask);
                    if (info == null) break;
                    int sig = info.Signo;
                    act = tg.Handlers.Actions[sig];
                    oldMask = SavedSignalMask ?? SignalMask;
                    if (act.Handler == SigAction.Ignore) continue;
                    if (act.Handler == SigAction.Default)
                    {
                        // Init's blocked default-action signals that got unblocked are dropped
                        // (only SIGKILL, SIGSTOP and forced faults act on it).
                        if ((tg.IsInit || tg.IsNamespaceInit) && sig != Signal.SIGKILL && sig != Signal.SIGSTOP && !IsForcedFault(info)) continue;
                        switch (Signal.DefaultActionOf(sig))
                        {
                            case DefaultAction.Ignore:
                            case DefaultAction.Continue:
                                continue;
                            case DefaultAction.Stop:
                                tg.Stopped = true;
                                tg.StopSignal = sig;
                                tg.StopReportPending = true;
                                tg.ContinueReportPending = false;
                                Kernel.NotifyParentLocked(tg, SignalInfo.CLD_STOPPED, sig);
                                foreach (var other in tg.Tasks) if (other != this) other.WakeForSignal();   // every thread stops
                                continue;
                            default:
                                bool core = DumpsCore(sig);
                                StartGroupExitLocked(WaitStatus.Signaled(sig, core));
                                return false;
                        }
                    }
                    // A handler runs: update the mask and the disposition now.
                    if ((act.Flags & SigActionFlags.SA_RESETHAND) != 0) tg.Handlers.Actions[sig] = default;
                    ulong newMask = SignalMask | act.Mask;
                    if ((act.Flags & SigActionFlags.SA_NODEFER) == 0) newMask |= Signal.Bit(sig);
                    SignalMask = newMask & ~Signal.Unblockable;
                    SavedSignalMask = null;
                }
            }
            if (info == null)
            {
                // Stopped: sleep until SIGCONT or SIGKILL.
                Block(() => !tg.Stopped || tg.Exiting || (PendingSet() & Signal.Bit(Signal.SIGKILL)) != 0, tg.StopEvents);
                continue;
            }
            if (restartPending)
            {
                long r = syscallResult!.Value;
                bool restart = r == -Errno.ERESTARTNOINTR ||
                    (r == -Errno.ERESTARTSYS && (act.Flags & SigActionFlags.SA_RESTART) != 0);
                if (restart) RestartSyscall(r);
                else Context!.Regs.Rax = unchecked((ulong)(long)-Errno.EINTR);
                restartPending = false;
            }
            if (!DeliverToHandler(info, act, oldMask))
            {
                lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGSEGV, DumpsCore(Signal.SIGSEGV)));
                return false;
            }
        }
        if (restartPending) RestartSyscall(syscallResult!.Value);
        if (SavedSignalMask is ulong saved)
        {
            SavedSignalMask = null;
            SetSignalMask(saved);
        }
        return true;
    }

    private void RestartSyscall(long code)
    {
        ref var r = ref Context!.Regs;
        const ulong SYS_restart_syscall = 219;
        r.Rax = code == -Errno.ERESTART_RESTARTBLOCK ? SYS_restart_syscall : r.OrigRax;
        r.Rip -= 2;
    }

    /// <summary>Writes the rt_sigframe and points the registers at the handler. False if the stack is unusable.</summary>
    private bool DeliverToHandler(SignalInfo info, SigAction act, ulong oldMask)
    {
        var ctx = Context!;
        ref var r = ref ctx.Regs;
        ctx.GetFpu(out var fpu);
        ulong sp = r.Rsp;
        var alt = AltStack;
        bool altEnabled = (alt.Flags & SS_DISABLE) == 0 && alt.Size != 0;
        bool onAlt = altEnabled && sp > alt.Sp && sp <= alt.Sp + alt.Size;
        if ((act.Flags & SigActionFlags.SA_ONSTACK) != 0 && altEnabled && !onAlt)
            sp = alt.Sp + alt.Size + SignalFrame.RedZone;
        var (frameAddr, fpAddr) = SignalFrame.Place(sp);
        var savedStack = new SignalFrame.AltStack(alt.Sp, altEnabled ? (onAlt ? SS_ONSTACK : 0) : SS_DISABLE, alt.Size);
        byte[] frame = SignalFrame.Build(r, act.Restorer, oldMask, savedStack, info, fpAddr);
        unsafe
        {
            var fpuBytes = new ReadOnlySpan<byte>(&fpu, FpuState.Size);
            if (ctx.Memory.CopyOut(fpAddr, fpuBytes) != 0) return false;
        }
        if (ctx.Memory.CopyOut(frameAddr, frame) != 0) return false;
        r.Rsp = frameAddr;
        r.Rip = act.Handler;
        r.Rdi = (ulong)info.Signo;
        r.Rsi = frameAddr + SignalFrame.SigInfoOffset;
        r.Rdx = frameAddr + SignalFrame.UContextOffset;
        r.Rax = 0;
        r.Eflags &= ~(0x100UL | 0x400UL);
        return true;
    }

    /// <summary>rt_sigreturn(2): restores the context saved by <see cref="DeliverToHandler"/>.</summary>
    internal long SigReturn()
    {
        var ctx = Context!;
        ref var r = ref ctx.Regs;
        ulong uc = r.Rsp - 8 + SignalFrame.UContextOffset;
        var buf = new byte[SignalFrame.UContextSize];
        _syscallRestartable = false;
        if (ctx.Memory.CopyIn(uc, buf) != 0)
        {
            lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGSEGV, DumpsCore(Signal.SIGSEGV)));
            return 0;
        }
        var (mask, stack, fpAddr) = SignalFrame.Restore(buf, ref r);
        if (fpAddr != 0)
        {
            FpuState fpu = default;
            unsafe
            {
                if (ctx.Memory.CopyIn(fpAddr, new Span<byte>(&fpu, FpuState.Size)) == 0) ctx.SetFpu(fpu);
            }
        }
        SetSignalMask(mask);
        bool onAlt = (AltStack.Flags & SS_DISABLE) == 0 && r.Rsp > AltStack.Sp && r.Rsp <= AltStack.Sp + AltStack.Size;
        if (!onAlt) AltStack = new SignalFrame.AltStack(stack.Sp, (stack.Flags & SS_DISABLE) != 0 ? SS_DISABLE : 0, stack.Size);
        return (long)r.Rax;
    }
}
