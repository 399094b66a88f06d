using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Platform;

/// <summary>
/// One stub process driven with PTRACE_SYSEMU by its owning task thread. Each application system
/// call costs exactly one stop plus GETREGS (and SETREGS before the next run when the registers
/// changed, which a syscall result always does).
/// </summary>
internal sealed unsafe class PtraceContext : IPlatformContext
{
    private const int SIGTRAP = 5, SIGSTOP = 19, SIGKILL = 9;
    private const int Options = Ptrace.O_TRACESYSGOOD | Ptrace.O_EXITKILL;

    private readonly int _pid;
    private Registers _regs;
    private bool _regsDirty;
    private readonly byte[] _faultInfo = new byte[128];
    private bool _dead;
    private readonly List<(ulong, ulong)> _reserved;

    private PtraceContext(int pid, ulong vdso, List<(ulong, ulong)> reserved)
    {
        _pid = pid;
        VdsoBase = vdso;
        _reserved = reserved;
        Memory = new PtraceMemory(pid);
    }

    /// <inheritdoc/>
    public int HostPid => _pid;
    /// <inheritdoc/>
    public int HostTid => _pid;
    /// <inheritdoc/>
    public ref Registers Regs => ref _regs;
    /// <inheritdoc/>
    public IMemoryIO Memory { get; }
    /// <inheritdoc/>
    public ulong VdsoBase { get; }
    /// <inheritdoc/>
    public IReadOnlyList<(ulong Start, ulong End)> Reserved => _reserved;
    /// <inheritdoc/>
    public ReadOnlySpan<byte> FaultInfo => _faultInfo;

    /// <summary>Finishes the start of a stub cloned by the calling thread (which did PTRACE_TRACEME and execveat).</summary>
    internal static PtraceContext StartNew(int pid)
    {
        int status = WaitStop(pid);
        if (!Ptrace.IsStopped(status) || Ptrace.StopSignal(status) != SIGTRAP)
        {
            Reap(pid);
            throw new InvalidOperationException($"stub did not start (wait status 0x{status:x})");
        }
        if (Ptrace.Request(Ptrace.SETOPTIONS, pid, 0, Options) < 0)
            throw new InvalidOperationException($"PTRACE_SETOPTIONS: errno {Marshal.GetLastPInvokeError()}");
        Registers r;
        if (Ptrace.Request(Ptrace.GETREGS, pid, 0, (nint)(&r)) < 0)
            throw new InvalidOperationException($"PTRACE_GETREGS: errno {Marshal.GetLastPInvokeError()}");
        var mem = new PtraceMemory(pid);
        ulong vdso = InitialStack.FindVdso(mem, r.Rsp);
        var reserved = new List<(ulong, ulong)> { (StubImage.Base, StubImage.Base + 0x1000) };
        if (vdso != 0) reserved.Add((vdso - 0x10000, vdso + 0x4000));
        ulong sp = r.Rsp & ~0xfffUL;
        reserved.Add((sp - 0x40000, sp + 0x40000));
        var ctx = new PtraceContext(pid, vdso, reserved) { _regs = r };
        return ctx;
    }

    /// <summary>Seizes a forked stub on the calling thread and gives it <paramref name="regs"/>.</summary>
    internal static PtraceContext Adopt(PtraceForked forked, in Registers regs, in FpuState fpu)
    {
        int pid = forked.Pid;
        if (Ptrace.Request(Ptrace.SEIZE, pid, 0, Options) < 0)
            throw new InvalidOperationException($"PTRACE_SEIZE of a forked stub: errno {Marshal.GetLastPInvokeError()}");
        int status = WaitStop(pid);
        if (!Ptrace.IsStopped(status))
            throw new InvalidOperationException($"forked stub did not stop (wait status 0x{status:x})");
        var ctx = new PtraceContext(pid, forked.VdsoBase, new List<(ulong, ulong)>(forked.Reserved)) { _regs = regs, _regsDirty = true };
        ctx.SetFpu(fpu);
        return ctx;
    }

    private static int WaitStop(int pid)
    {
        int status;
        while (true)
        {
            int r = Ptrace.WaitPid(pid, &status, Ptrace.__WALL);
            if (r == pid) return status;
            int err = Marshal.GetLastPInvokeError();
            if (r < 0 && err != 4) throw new InvalidOperationException($"waitpid({pid}): errno {err}");
        }
    }

    /// <summary>Waits until host process <paramref name="pid"/> is gone (after SIGKILL) and reaps it.</summary>
    internal static void Reap(int pid)
    {
        int status;
        while (true)
        {
            int r = Ptrace.WaitPid(pid, &status, Ptrace.__WALL);
            if (r < 0)
            {
                if (Marshal.GetLastPInvokeError() == 4) continue;
                return;   // ECHILD: gone
            }
            if (Ptrace.IsExited(status) || Ptrace.IsSignaled(status))
            {
                // A tracer that is not the real parent sees the exit first; the real parent (us, too) reaps next.
                continue;
            }
        }
    }

    private void FlushRegs()
    {
        if (!_regsDirty) return;
        fixed (Registers* p = &_regs)
        {
            if (Ptrace.Request(Ptrace.SETREGS, _pid, 0, (nint)p) < 0)
                throw new InvalidOperationException($"PTRACE_SETREGS: errno {Marshal.GetLastPInvokeError()}");
        }
        _regsDirty = false;
    }

    private void LoadRegs()
    {
        fixed (Registers* p = &_regs)
        {
            if (Ptrace.Request(Ptrace.GETREGS, _pid, 0, (nint)p) < 0)
                throw new InvalidOperationException($"PTRACE_GETREGS: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Marks the registers changed so they are written before the next run.</summary>
    public void RegsChanged() => _regsDirty = true;

    /// <inheritdoc/>
    public StopReason Run()
    {
        if (_dead) return StopReason.Died;
        // The caller changes Regs through the ref; always write them back (one SETREGS per stop).
        _regsDirty = true;
        FlushRegs();
        if (Ptrace.Request(Ptrace.SYSEMU, _pid, 0, 0) < 0)
        {
            _dead = true;
            return StopReason.Died;
        }
        int status = WaitStop(_pid);
        if (!Ptrace.IsStopped(status))
        {
            _dead = true;
            return StopReason.Died;
        }
        int sig = Ptrace.StopSignal(status);
        LoadRegs();
        if (sig == (SIGTRAP | 0x80)) return StopReason.Syscall;
        if (Ptrace.StopEvent(status) != 0) return StopReason.Interrupted;
        switch (sig)
        {
            case 11: case 7: case 8: case 4: case SIGTRAP:   // SEGV, BUS, FPE, ILL, TRAP
                fixed (byte* p = _faultInfo)
                {
                    if (Ptrace.Request(Ptrace.GETSIGINFO, _pid, 0, (nint)p) < 0) Array.Clear(_faultInfo);
                }
                return StopReason.Fault;
            default:
                return StopReason.Interrupted;
        }
    }

    /// <inheritdoc/>
    public void GetFpu(out FpuState state)
    {
        state = default;
        fixed (FpuState* p = &state) Ptrace.Request(Ptrace.GETFPREGS, _pid, 0, (nint)p);
    }

    /// <inheritdoc/>
    public void SetFpu(in FpuState state)
    {
        FpuState copy = state;
        Ptrace.Request(Ptrace.SETFPREGS, _pid, 0, (nint)(&copy));
    }

    /// <inheritdoc/>
    public long HostSyscall(long nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
        => RunStub(StubImage.SyscallAddress, nr, a0, a1, a2, a3, a4, a5);

    private long RunStub(ulong rip, long nr, ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        if (_dead) return -3;   // ESRCH
        Registers saved = _regs;
        Registers r = _regs;
        r.Rax = (ulong)nr;
        r.OrigRax = ulong.MaxValue;
        r.Rdi = a0; r.Rsi = a1; r.Rdx = a2; r.R10 = a3; r.R8 = a4; r.R9 = a5;
        r.Rip = rip;
        if (Ptrace.Request(Ptrace.SETREGS, _pid, 0, (nint)(&r)) < 0) return -3;
        long result;
        while (true)
        {
            if (Ptrace.Request(Ptrace.CONT, _pid, 0, 0) < 0) { _dead = true; return -3; }
            int status = WaitStop(_pid);
            if (!Ptrace.IsStopped(status)) { _dead = true; return -3; }
            if (Ptrace.StopSignal(status) != SIGTRAP || Ptrace.StopEvent(status) != 0) continue;   // a kick: ignore
            Registers after;
            Ptrace.Request(Ptrace.GETREGS, _pid, 0, (nint)(&after));
            if (after.Rip != rip + 3 && after.Rip != StubImage.SyscallAddress + 3) continue;
            result = (long)after.Rax;
            break;
        }
        _regs = saved;
        _regsDirty = true;
        return result;
    }

    /// <inheritdoc/>
    public IForkedContext? ForkAddressSpace(out int errno)
    {
        const ulong CLONE_PARENT = 0x8000;
        long pid = RunStub(StubImage.ForkAddress, RawSyscall.SYS_clone, CLONE_PARENT, 0, 0, 0, 0, 0);
        if (pid < 0)
        {
            errno = (int)-pid;
            return null;
        }
        errno = 0;
        return new PtraceForked { Pid = (int)pid, VdsoBase = VdsoBase, Reserved = _reserved.ToArray() };
    }

    /// <inheritdoc/>
    public IForkedContext? CloneThread(out int errno)
    {
        errno = Errno.EINVAL;   // threads run on the systrap platform only
        return null;
    }

    /// <inheritdoc/>
    public void Kick()
    {
        if (!_dead) RawSyscall.CallNoGc(RawSyscall.SYS_tgkill, _pid, _pid, SIGSTOP, 0, 0, 0);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_pid <= 0) return;
        HostIo.Kill(_pid, SIGKILL);
        Reap(_pid);
        _dead = true;
    }
}
