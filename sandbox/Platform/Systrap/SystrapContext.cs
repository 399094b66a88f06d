using System.Diagnostics;
using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// One host thread of a systrap stub process (one application thread; the address space is the
/// process, shared by its threads through <see cref="StubThreads"/>). A stop is the stub's
/// signal handler reporting through the thread's <see cref="SharedPage"/>; <see cref="Run"/>
/// writes the registers into the page and posts "resume", so an application system call costs
/// one SIGSYS delivery, two hand-offs through shared memory and one rt_sigreturn, with no ptrace
/// stop. Disposing a context ends its host thread, or the whole process when it is the last one.
/// </summary>
internal sealed unsafe class SystrapContext : IPlatformContext, IStubFdInstaller
{
    private const int SIGSYS = 31, SYS_SECCOMP = 1;
    private const long SYS_pidfd_open = 434, SYS_pidfd_getfd = 438;
    private const uint FP_XSTATE_MAGIC1 = 0x46505853;

    private const long SYS_memfd_create = 319, SYS_ftruncate = 77, SYS_exit = 60, SYS_mseal = 462;
    private const ulong MAP_SHARED_FIXED = 0x11, MAP_PRIVATE_ANON_FIXED = 0x32;

    private readonly SystrapPlatform _platform;
    private readonly StubThreads _process;
    private readonly int _pid;
    private readonly int _tid;
    private readonly int _slot;
    private readonly SharedPage _page;
    private readonly PtraceMemory _memory;
    private bool _disposed;
    private readonly byte[] _faultInfo = new byte[128];
    private Registers _regs;
    private readonly HandoffSpin _spin;
    private ulong _fsBase, _gsBase;
    private volatile bool _dead;
    private long _reportedAt;
    private int _publishedStubPauses;

    private SystrapContext(SystrapPlatform platform, StubThreads process, int slot, int tid, SharedPage page)
    {
        _platform = platform;
        _process = process;
        _pid = process.Pid;
        _slot = slot;
        _tid = tid;
        _page = page;
        _memory = new PtraceMemory(tid);
        _spin = platform.NewHandoffSpin();
        _publishedStubPauses = page.Int(SharedPage.SpinOffset);
    }

    /// <inheritdoc/>
    public int HostPid => _pid;
    /// <inheritdoc/>
    public int HostTid => _tid;
    /// <inheritdoc/>
    public ref Registers Regs => ref _regs;
    /// <inheritdoc/>
    public IMemoryIO Memory => _memory;
    /// <inheritdoc/>
    public ulong VdsoBase => _process.VdsoBase;
    /// <inheritdoc/>
    public IReadOnlyList<(ulong Start, ulong End)> Reserved => _process.Reserved;
    /// <inheritdoc/>
    public ReadOnlySpan<byte> FaultInfo => _faultInfo;

    /// <summary>Waits for a new stub's "ready" report and builds its context.</summary>
    internal static SystrapContext StartNew(SystrapPlatform platform, int pid, SharedPage page)
    {
        if (!page.WaitReported(0, () => StubProcess.IsAlive(pid), out _))
        {
            StubProcess.KillAndReap(pid, out int status);
            page.Dispose();
            throw new InvalidOperationException($"the systrap stub exited during its setup (wait status 0x{status:x})");
        }
        int firstSignal = page.Int(SharedPage.SignoOffset);
        if (firstSignal != 5 || page.Context(SharedPage.Rip) != SystrapStub.ReadyAddress)
        {
            StubProcess.KillAndReap(pid);
            page.Dispose();
            throw new InvalidOperationException($"the systrap stub reported an unexpected first stop (signal {firstSignal})");
        }
        if (!StubIds.Claim(pid))
        {
            StubProcess.KillAndReap(pid);
            page.Dispose();
            throw new InvalidOperationException($"the new systrap stub's pid {pid} is already in use");
        }
        // Read before any application instruction ran: the page is still the stub's alone.
        ulong rsp = page.Long(SharedPage.InitialRspOffset);
        ulong vdso = InitialStack.FindVdso(new PtraceMemory(pid), rsp);
        var reserved = new List<(ulong, ulong)> { (SystrapStub.Base, SystrapStub.ReservedEnd) };
        if (vdso != 0) reserved.Add((vdso - 0x10000, vdso + 0x4000));
        ulong sp = rsp & ~0xfffUL;
        reserved.Add((sp - 0x40000, sp + 0x40000));
        long listener = (long)page.Context(SharedPage.Rax);   // the seccomp listener, see StubSyscallApprover
        var ctx = new SystrapContext(platform, new StubThreads(pid, 0, vdso, reserved), 0, pid, page);
        ctx.LoadRegs();
        long taken = StubIds.TakeFd(pid, listener);
        ctx.HostSyscall(RawSyscall.SYS_close, (ulong)listener);
        if (taken < 0)
        {
            ctx.Dispose();
            throw new InvalidOperationException($"taking the systrap stub's seccomp listener: errno {-taken}");
        }
        platform.Approver.Watch((int)taken);
        // Seal the stub's code page (Linux 6.10+, inherited by forks): the application could
        // otherwise mprotect it writable or map its own code there, inside the range the stub
        // filter lets through. Older kernels answer ENOSYS and the page stays unsealed.
        long seal = ctx.HostSyscall(SYS_mseal, SystrapStub.Base, SystrapStub.ImageSize, 0);
        if (seal < 0 && seal != -Errno.ENOSYS)
        {
            ctx.Dispose();
            throw new InvalidOperationException($"sealing the systrap stub's code: errno {-seal}");
        }
        return ctx;
    }

    /// <summary>Connects to a forked stub (its own fresh shared page) and gives it <paramref name="regs"/>.</summary>
    internal static SystrapContext Adopt(SystrapPlatform platform, SystrapForked forked, in Registers regs, in FpuState fpu)
    {
        int pid = forked.Pid;
        SharedPage page;
        try
        {
            page = new SharedPage(forked.SharedFd);
        }
        finally
        {
            forked.CloseSharedFd();
        }
        var process = new StubThreads(pid, forked.Slot, forked.VdsoBase, forked.Reserved);
        var ctx = new SystrapContext(platform, process, forked.Slot, pid, page)
        {
            _fsBase = forked.FsBase,
            _gsBase = forked.GsBase,
        };
        if (!page.WaitReported(0, () => StubProcess.IsAlive(pid), out _) || page.Int(SharedPage.SignoOffset) != 0)
        {
            ctx.Dispose();
            throw new InvalidOperationException("a forked systrap stub did not report");
        }
        ctx.LoadRegs();
        // The child has only the forking thread; drop the parent's other thread slots (their
        // shared pages are the parent's, and the child must not reach them).
        ulong own = SystrapStub.SlotPage(forked.Slot);
        if (own > SystrapStub.ThreadAreaAddress)
            ctx.HostSyscall(RawSyscall.SYS_munmap, SystrapStub.ThreadAreaAddress, own - SystrapStub.ThreadAreaAddress);
        ctx.HostSyscall(RawSyscall.SYS_munmap, own + SystrapStub.SlotSize, SystrapStub.ReservedEnd - own - SystrapStub.SlotSize);
        ctx._regs = regs;
        ctx.SetFpu(fpu);
        return ctx;
    }

    /// <summary>Takes over a thread created by <see cref="CloneThread"/> and gives it <paramref name="regs"/>.</summary>
    internal static SystrapContext AdoptThread(SystrapPlatform platform, SystrapThread thread, in Registers regs, in FpuState fpu)
    {
        var ctx = new SystrapContext(platform, thread.Process, thread.Slot, thread.Tid, thread.TakePage())
        {
            _fsBase = thread.FsBase,
            _gsBase = thread.GsBase,
        };
        bool reported = ctx._page.WaitReported(0, ctx.Alive, out _);
        if (!reported || ctx._page.Int(SharedPage.SignoOffset) != 5 || ctx._page.Context(SharedPage.Rip) != SystrapStub.ThreadReadyAddress)
        {
            string why = reported
                ? $"reported signal {ctx._page.Int(SharedPage.SignoOffset)} at 0x{ctx._page.Context(SharedPage.Rip):x}"
                : "did not report";
            ctx.Dispose();
            throw new InvalidOperationException($"new systrap stub thread {thread.Tid}: {why}");
        }
        ctx.LoadRegs();
        ctx._regs = regs;
        ctx._regs.OrigRax = ulong.MaxValue;
        ctx.SetFpu(fpu);
        return ctx;
    }

    /// <summary>True while this context's host thread exists (the main thread: while the process does).</summary>
    private bool Alive() =>
        (_slot == _process.FirstSlot || Volatile.Read(ref _page.Int(SharedPage.ThreadAliveOffset)) != 0) && StubProcess.IsAlive(_pid);

    /// <summary>Copies the reported machine context into <see cref="Regs"/>.</summary>
    private void LoadRegs()
    {
        var p = _page;
        ref var r = ref _regs;
        r.R8 = p.Context(SharedPage.R8); r.R9 = p.Context(SharedPage.R9);
        r.R10 = p.Context(SharedPage.R10); r.R11 = p.Context(SharedPage.R11);
        r.R12 = p.Context(SharedPage.R12); r.R13 = p.Context(SharedPage.R13);
        r.R14 = p.Context(SharedPage.R14); r.R15 = p.Context(SharedPage.R15);
        r.Rdi = p.Context(SharedPage.Rdi); r.Rsi = p.Context(SharedPage.Rsi);
        r.Rbp = p.Context(SharedPage.Rbp); r.Rbx = p.Context(SharedPage.Rbx);
        r.Rdx = p.Context(SharedPage.Rdx); r.Rax = p.Context(SharedPage.Rax);
        r.Rcx = p.Context(SharedPage.Rcx); r.Rsp = p.Context(SharedPage.Rsp);
        r.Rip = p.Context(SharedPage.Rip); r.Eflags = p.Context(SharedPage.Eflags);
        ulong seg = p.Context(SharedPage.CsGsFsSs);
        r.Cs = seg & 0xffff;
        r.Ss = (seg >> 48) & 0xffff;
        r.FsBase = _fsBase;
        r.GsBase = _gsBase;
        r.OrigRax = ulong.MaxValue;
    }

    /// <summary>Writes <see cref="Regs"/> into the page for the stub to restore.</summary>
    private void StoreRegs()
    {
        var p = _page;
        ref var r = ref _regs;
        p.Context(SharedPage.R8) = r.R8; p.Context(SharedPage.R9) = r.R9;
        p.Context(SharedPage.R10) = r.R10; p.Context(SharedPage.R11) = r.R11;
        p.Context(SharedPage.R12) = r.R12; p.Context(SharedPage.R13) = r.R13;
        p.Context(SharedPage.R14) = r.R14; p.Context(SharedPage.R15) = r.R15;
        p.Context(SharedPage.Rdi) = r.Rdi; p.Context(SharedPage.Rsi) = r.Rsi;
        p.Context(SharedPage.Rbp) = r.Rbp; p.Context(SharedPage.Rbx) = r.Rbx;
        p.Context(SharedPage.Rdx) = r.Rdx; p.Context(SharedPage.Rax) = r.Rax;
        p.Context(SharedPage.Rcx) = r.Rcx; p.Context(SharedPage.Rsp) = r.Rsp;
        p.Context(SharedPage.Rip) = r.Rip; p.Context(SharedPage.Eflags) = r.Eflags;
        int flags = 0;
        if (r.FsBase != _fsBase)
        {
            _fsBase = r.FsBase;
            p.Long(SharedPage.FsBaseOffset) = _fsBase;
            flags |= SharedPage.SetFsBase;
        }
        if (r.GsBase != _gsBase)
        {
            _gsBase = r.GsBase;
            p.Long(SharedPage.GsBaseOffset) = _gsBase;
            flags |= SharedPage.SetGsBase;
        }
        if (flags != 0) p.Int(SharedPage.BaseFlagsOffset) = flags;
    }

    /// <summary>
    /// Runs <paramref name="command"/> (see <see cref="Command(int)"/>) with the stub's host calls in
    /// <paramref name="approve"/> (<see cref="StubSyscallApprover"/> bits) let through once each meanwhile.
    /// </summary>
    private bool Command(int command, int approve)
    {
        if (approve == 0) return Command(command);
        _platform.Approver.Expect(_tid, approve);
        try
        {
            return Command(command);
        }
        finally
        {
            _platform.Approver.Done(_tid);
        }
    }

    /// <summary>Hands the page to the stub with <paramref name="command"/> and waits for its next report.</summary>
    private bool Command(int command)
    {
        long answerTicks = Stopwatch.GetTimestamp() - _reportedAt;
        int pauses = _spin.StubPauses;
        _page.Int(SharedPage.SpinOffset) = pauses;   // the stub reads it after its next report
        bool slept = _page.Post(command);
        _spin.StubWaited(slept, answerTicks, _publishedStubPauses);
        _publishedStubPauses = pauses;
        bool ok = _page.WaitReported(_spin.SentryTicks, Alive, out bool caught);
        _reportedAt = Stopwatch.GetTimestamp();
        _spin.SentryWaited(caught);
        if (!ok) _dead = true;
        return ok;
    }

    /// <inheritdoc/>
    public StopReason Run()
    {
        if (_dead) return StopReason.Died;
        StoreRegs();
        if (!Command(SharedPage.StateResume)) return StopReason.Died;
        LoadRegs();
        int signo = _page.Int(SharedPage.SignoOffset);
        var info = _page.Siginfo;
        switch (signo)
        {
            case SIGSYS when BitConverter.ToInt32(info[8..]) == SYS_SECCOMP:
                _regs.OrigRax = (ulong)BitConverter.ToInt32(info[24..]);   // si_syscall
                _regs.Rax = unchecked((ulong)-Errno.ENOSYS);              // as the kernel shows a syscall stop
                return StopReason.Syscall;
            case 11: case 7: case 8: case 4: case 5:   // SEGV, BUS, FPE, ILL, TRAP
                info.CopyTo(_faultInfo);
                return StopReason.Fault;
            default:
                return StopReason.Interrupted;
        }
    }

    /// <inheritdoc/>
    public void GetFpu(out FpuState state)
    {
        state = default;
        ulong at = _page.Context(SharedPage.Fpstate);
        fixed (FpuState* p = &state)
        {
            if (at == 0 || _memory.Read(at, new Span<byte>(p, FpuState.Size)) != FpuState.Size) state = FpuState.Initial();
        }
    }

    /// <inheritdoc/>
    public void SetFpu(in FpuState state)
    {
        ulong at = _page.Context(SharedPage.Fpstate);
        if (at == 0) return;
        FpuState copy = state;
        _memory.Write(at, new ReadOnlySpan<byte>(&copy, FpuState.Size));
        // With an xsave frame, sigreturn loads x87/SSE from the legacy area only if their bits
        // are set in xstate_bv (otherwise it resets them to the initial state).
        uint magic;
        if (_memory.Read(at + 464, new Span<byte>(&magic, 4)) == 4 && magic == FP_XSTATE_MAGIC1)
        {
            ulong bv;
            if (_memory.Read(at + 512, new Span<byte>(&bv, 8)) == 8)
            {
                bv |= 3;
                _memory.Write(at + 512, new ReadOnlySpan<byte>(&bv, 8));
            }
        }
    }

    /// <inheritdoc/>
    public long HostSyscall(long nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        if (_dead) return -Errno.ESRCH;
        var p = _page;
        p.Long(SharedPage.NrOffset) = (ulong)nr;
        p.Long(SharedPage.ArgsOffset) = a0;
        p.Long(SharedPage.ArgsOffset + 8) = a1;
        p.Long(SharedPage.ArgsOffset + 16) = a2;
        p.Long(SharedPage.ArgsOffset + 24) = a3;
        p.Long(SharedPage.ArgsOffset + 32) = a4;
        p.Long(SharedPage.ArgsOffset + 40) = a5;
        if (!Command(SharedPage.StateHostCall, StubSyscallApprover.BitOf(nr))) return -Errno.ESRCH;
        return (long)p.Long(SharedPage.ResultOffset);
    }

    /// <inheritdoc/>
    public IForkedContext? ForkAddressSpace(out int errno)
    {
        errno = 0;
        if (_dead) { errno = Errno.ESRCH; return null; }
        // The child's page is a memfd of the Sentry's, handed to the stub over the fd channel
        // before the fork (the child inherits it and maps it over its slot).
        int memfd = NewPageMemfd(out errno);
        if (memfd < 0) return null;
        long stubMemfd = InstallFd(memfd);
        if (stubMemfd < 0)
        {
            FileDescriptor.Close(memfd);
            errno = (int)-stubMemfd;
            return null;
        }
        _page.Long(SharedPage.ArgsOffset) = (ulong)stubMemfd;     // the fd the child maps as its page
        _page.Long(SharedPage.ArgsOffset + 8) = ulong.MaxValue;   // clone's CLONE_PIDFD writes the child's pidfd here
        if (!Command(SharedPage.StateFork, StubSyscallApprover.Clone))
        {
            FileDescriptor.Close(memfd);
            errno = Errno.ESRCH;
            return null;
        }
        // Everything below comes from the application-writable page: the numbers only say where
        // to look in the stub's fd table; the child is what the kernel says it is.
        long result = (long)_page.Long(SharedPage.ResultOffset);
        int stubPidfd = _page.Int(SharedPage.ArgsOffset + 8);
        HostSyscall(RawSyscall.SYS_close, (ulong)stubMemfd);
        int child = -1;
        long pidfd = StubIds.TakeFd(_pid, stubPidfd);
        if (pidfd >= 0)
        {
            child = StubIds.UnclaimedChildOf((int)pidfd);
            FileDescriptor.Close((int)pidfd);
            HostSyscall(RawSyscall.SYS_close, (ulong)stubPidfd);
        }
        if (child < 0 && result < 0 && pidfd < 0)
        {
            // clone failed: no child exists.
            FileDescriptor.Close(memfd);
            errno = (int)-result;
            return null;
        }
        if (child < 0 || child != result || !StubIds.Claim(child))
        {
            FileDescriptor.Close(memfd);
            if (child > 0) StubProcess.KillAndReap(child);
            KillForgery($"fork result pid {result}, pidfd {stubPidfd}");
            errno = Errno.EAGAIN;
            return null;
        }
        return new SystrapForked(memfd)
        {
            Pid = child,
            Slot = _slot,
            VdsoBase = VdsoBase,
            Reserved = Reserved.ToArray(),
            FsBase = _fsBase,
            GsBase = _gsBase,
        };
    }

    /// <summary>
    /// The stub reported ids that the kernel contradicts: the application wrote its shared page
    /// (or the stub is corrupt). Kill the whole stub process; its tasks see it die.
    /// </summary>
    internal void KillForgery(string what)
    {
        StubIds.Log.Write($"systrap: stub {_pid} reported {what} that the host kernel does not confirm; killing it");
        HostIo.Kill(_pid, 9);
        _dead = true;
    }

    /// <inheritdoc/>
    public IForkedContext? CloneThread(out int errno)
    {
        errno = 0;
        if (_dead) { errno = Errno.ESRCH; return null; }
        int slot = _process.TakeSlot();
        if (slot < 0) { errno = Errno.EAGAIN; return null; }
        SharedPage? page = null;
        try
        {
            page = MapNewSlot(slot, out errno);
            if (page == null) return null;
            ulong at = SystrapStub.SlotPage(slot);
            page.Long(SharedPage.ThreadStackOffset) = at + SystrapStub.AltStackOffset;   // stack_t: ss_sp,
            page.Long(SharedPage.ThreadStackOffset + 8) = 0;                               // ss_flags,
            page.Long(SharedPage.ThreadStackOffset + 16) = SystrapStub.AltStackSize;      // ss_size
            page.Int(SharedPage.ThreadAliveOffset) = 1;
            page.Int(SharedPage.SpinOffset) = 0;
            page.Int(SharedPage.SentryPidOffset) = StubIds.SentryPid;
            _page.Long(SharedPage.ArgsOffset) = at + (ulong)SharedPage.Size;           // the thread's first stack
            _page.Long(SharedPage.ArgsOffset + 8) = at + (ulong)SharedPage.ThreadAliveOffset;
            if (!Command(SharedPage.StateThread, StubSyscallApprover.Clone)) { errno = Errno.ESRCH; return null; }
            long tid = (long)_page.Long(SharedPage.ResultOffset);
            if (tid < 0) { errno = (int)-tid; return null; }
            // The tid comes from the application-writable page: it must be a thread of this stub
            // that no other context drives, or memory copies and kicks would hit another process.
            if (!StubIds.IsThreadOf(_pid, tid) || !_process.ClaimTid((int)tid))
            {
                KillForgery($"thread id {tid}");
                errno = Errno.EAGAIN;
                return null;
            }
            var thread = new SystrapThread(_process, slot, (int)tid, page) { FsBase = _fsBase, GsBase = _gsBase };
            page = null;
            slot = -1;
            return thread;
        }
        finally
        {
            page?.Dispose();
            if (slot >= 0)
            {
                _process.Release();
                _process.FreeSlot(slot);
            }
        }
    }

    /// <summary>
    /// Maps a fresh shared page (a memfd the stub creates, which the Sentry copies with
    /// pidfd_getfd) and a private alternate stack into thread slot <paramref name="slot"/>.
    /// </summary>
    private SharedPage? MapNewSlot(int slot, out int errno)
    {
        errno = 0;
        ulong at = SystrapStub.SlotPage(slot);
        int memfd = NewPageMemfd(out errno);
        if (memfd < 0) return null;
        try
        {
            // The page is the Sentry's own memfd, handed over the fd channel: nothing about it
            // comes from the application-writable page but the stub's fd number, and a wrong
            // number can only leave the stub's slot unmapped (checked by the mmap result).
            long stubFd = InstallFd(memfd);
            if (stubFd < 0) { errno = (int)-stubFd; return null; }
            long r = HostSyscall(RawSyscall.SYS_mmap, at, SharedPage.Size, 3, MAP_SHARED_FIXED, (ulong)stubFd, 0);
            HostSyscall(RawSyscall.SYS_close, (ulong)stubFd);
            if (r >= 0 && (ulong)r != at) r = -Errno.ENOMEM;
            if (r >= 0) r = HostSyscall(RawSyscall.SYS_mmap, at + SystrapStub.AltStackOffset, SystrapStub.AltStackSize, 3, MAP_PRIVATE_ANON_FIXED, ulong.MaxValue, 0);
            if (r < 0) { errno = (int)-r; return null; }
            return new SharedPage(memfd);
        }
        finally
        {
            FileDescriptor.Close(memfd);
        }
    }

    /// <summary>A new one-page memfd of the Sentry's for a stub thread's shared page; -1 (and <paramref name="errno"/>) on failure.</summary>
    private static int NewPageMemfd(out int errno)
    {
        errno = 0;
        long fd = RawSyscall.Checked(SYS_memfd_create, SystrapPlatform.PageMemfdName, 1 /* MFD_CLOEXEC */);
        if (fd < 0) { errno = (int)-fd; return -1; }
        long r = RawSyscall.Checked(SYS_ftruncate, fd, SharedPage.Size);
        if (r < 0)
        {
            FileDescriptor.Close((int)fd);
            errno = (int)-r;
            return -1;
        }
        return (int)fd;
    }

    private StubFdChannel? _fdChannel;

    /// <inheritdoc/>
    public long InstallFd(int hostFd)
    {
        if (_dead) return -Errno.ESRCH;
        return (_fdChannel ??= new StubFdChannel(this, _page, _pid, SystrapStub.SlotPage(_slot))).Install(hostFd);
    }

    /// <inheritdoc/>
    public void Kick()
    {
        if (!_dead) RawSyscall.CallNoGc(RawSyscall.SYS_tgkill, _pid, _tid, SystrapStub.KickSignal, 0, 0, 0);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_process.Release())
        {
            _dead = true;
            _fdChannel?.Dispose();
            StubProcess.KillAndReap(_pid);
            _page.Dispose();
            return;
        }
        if (!_dead)
        {
            // Other threads still use the process: end only this host thread (it is stopped in
            // its handler, so a host call of exit runs there and never reports).
            _fdChannel?.CloseStubEnd();
            _fdChannel?.Dispose();
            _dead = true;
            _page.Long(SharedPage.NrOffset) = SYS_exit;
            _page.Long(SharedPage.ArgsOffset) = 0;
            _page.Post(SharedPage.StateHostCall);
        }
        if (_slot != _process.FirstSlot)
        {
            _page.WaitThreadGone(() => StubProcess.IsAlive(_pid));
            _process.ReleaseTid(_tid);
            _process.FreeSlot(_slot);
        }
        _page.Dispose();
    }
}

/// <summary>
/// A new host thread of a systrap stub (see <see cref="SystrapContext.CloneThread"/>) waiting for
/// the task thread that will adopt it, with the Sentry's mapping of its shared page.
/// </summary>
internal sealed class SystrapThread : IForkedContext
{
    private SharedPage? _page;

    public SystrapThread(StubThreads process, int slot, int tid, SharedPage page)
    {
        Process = process;
        Slot = slot;
        Tid = tid;
        _page = page;
    }

    public StubThreads Process { get; }
    public int Slot { get; }
    public int Tid { get; }
    public required ulong FsBase { get; init; }
    public required ulong GsBase { get; init; }

    /// <summary>Hands the shared page to the adopting context (once).</summary>
    public SharedPage TakePage() => Interlocked.Exchange(ref _page, null) ?? throw new InvalidOperationException("thread adopted twice");

    public void Abandon()
    {
        var page = Interlocked.Exchange(ref _page, null);
        if (page == null) return;
        // Let the thread report, then end it like a disposed context.
        bool alive() => Volatile.Read(ref page.Int(SharedPage.ThreadAliveOffset)) != 0 && StubProcess.IsAlive(Process.Pid);
        if (page.WaitReported(0, alive, out _))
        {
            page.Long(SharedPage.NrOffset) = 60;
            page.Long(SharedPage.ArgsOffset) = 0;
            page.Post(SharedPage.StateHostCall);
        }
        if (Process.Release()) StubProcess.KillAndReap(Process.Pid);
        else
        {
            page.WaitThreadGone(() => StubProcess.IsAlive(Process.Pid));
            Process.ReleaseTid(Tid);
            Process.FreeSlot(Slot);
        }
        page.Dispose();
    }
}

/// <summary>
/// A forked systrap stub waiting for a task thread to adopt it (see
/// <see cref="SystrapContext.ForkAddressSpace"/>), with the Sentry's copy of its shared-page memfd.
/// </summary>
internal sealed class SystrapForked : IForkedContext
{
    private int _sharedFd;

    public SystrapForked(int sharedFd) => _sharedFd = sharedFd;

    public required int Pid { get; init; }
    public required int Slot { get; init; }
    public required ulong VdsoBase { get; init; }
    public required IReadOnlyList<(ulong Start, ulong End)> Reserved { get; init; }
    public required ulong FsBase { get; init; }
    public required ulong GsBase { get; init; }

    /// <summary>The child's shared-page memfd (the Sentry's copy).</summary>
    public int SharedFd => _sharedFd;

    /// <summary>Closes the Sentry's copy of the memfd (once mapped, or when abandoned).</summary>
    public void CloseSharedFd()
    {
        int fd = Interlocked.Exchange(ref _sharedFd, -1);
        if (fd >= 0) FileDescriptor.Close(fd);
    }

    public void Abandon()
    {
        CloseSharedFd();
        StubProcess.KillAndReap(Pid);
    }
}
