using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// The page one stub thread and its Sentry task thread share (a memfd mapped in both): the
/// hand-off state word both sides spin and futex-wait on, the host-call request, and the copies of
/// the signal's siginfo and machine context that the stub's signal handler writes. Offsets are
/// fixed by the stub's machine code (<see cref="SystrapStub"/>).
/// </summary>
internal sealed unsafe class SharedPage : IDisposable
{
    /// <summary>Size of the page (the memfd's length).</summary>
    public const int Size = 0x1000;

    /// <summary>Offsets inside the page; the stub's code uses the same numbers.</summary>
    public const int StateOffset = 0x00, StubSleepingOffset = 0x04, SentrySleepingOffset = 0x08,
        SignoOffset = 0x0c, NrOffset = 0x10, ArgsOffset = 0x18, ResultOffset = 0x48, FsBaseOffset = 0x50,
        GsBaseOffset = 0x58, BaseFlagsOffset = 0x60, SpinOffset = 0x64, UcontextOffset = 0x68,
        InitialRspOffset = 0x70, SentryPidOffset = 0x78, SiginfoOffset = 0x80, ContextOffset = 0x100,
        ThreadStackOffset = 0x200, ThreadAliveOffset = 0x220;

    /// <summary>Values of the state word.</summary>
    public const int StateReported = 1, StateResume = 2, StateHostCall = 3, StateFork = 4, StateThread = 5;

    /// <summary>Bits of the base-flags word: the stub sets FS / GS base before resuming.</summary>
    public const int SetFsBase = 1, SetGsBase = 2;

    /// <summary>Number of machine-context words the handler copies (r8 .. cr2, fpstate).</summary>
    public const int ContextWords = 24;

    /// <summary>Indexes of registers in the copied machine context (struct sigcontext).</summary>
    public const int R8 = 0, R9 = 1, R10 = 2, R11 = 3, R12 = 4, R13 = 5, R14 = 6, R15 = 7, Rdi = 8,
        Rsi = 9, Rbp = 10, Rbx = 11, Rdx = 12, Rax = 13, Rcx = 14, Rsp = 15, Rip = 16, Eflags = 17,
        CsGsFsSs = 18, Fpstate = 23;

    private const int FUTEX_WAIT = 0, FUTEX_WAKE = 1;
    private const long SYS_futex = 202, SYS_munmap = 11, SYS_sched_yield = 24;

    /// <summary>How many times the Sentry yields its CPU before it sleeps on the futex.</summary>
    private const int YieldsBeforeSleep = 8;

    private byte* _base;

    /// <summary>Maps <paramref name="memfd"/> (which must be <see cref="Size"/> bytes long) shared and read-write.</summary>
    public SharedPage(int memfd)
    {
        long p = RawSyscall.Checked(RawSyscall.SYS_mmap, 0, Size, 3, 1 /* MAP_SHARED */, memfd, 0);
        if (p < 0) throw new InvalidOperationException($"mmap of a stub's shared page: errno {-p}");
        _base = (byte*)p;
    }

    /// <summary>A 32-bit field.</summary>
    public ref int Int(int offset) => ref *(int*)(_base + offset);

    /// <summary>A 64-bit field.</summary>
    public ref ulong Long(int offset) => ref *(ulong*)(_base + offset);

    /// <summary>Word <paramref name="index"/> of the copied machine context.</summary>
    public ref ulong Context(int index) => ref *(ulong*)(_base + ContextOffset + index * 8);

    /// <summary>The 128-byte siginfo of the last signal the stub reported.</summary>
    public ReadOnlySpan<byte> Siginfo => new(_base + SiginfoOffset, 128);

    /// <summary>
    /// Hands the page to the stub with <paramref name="command"/> and wakes the stub if it sleeps.
    /// The exchange is a full fence, so either the stub sees the command before it sleeps or this
    /// side sees its sleeping flag (the stub sets the flag with an exchange, then rechecks).
    /// Returns true if the stub had gone to sleep.
    /// </summary>
    public bool Post(int command)
    {
        Interlocked.Exchange(ref Int(StateOffset), command);
        if (Volatile.Read(ref Int(StubSleepingOffset)) == 0) return false;
        RawSyscall.CallNoGc(SYS_futex, (nint)(_base + StateOffset), FUTEX_WAKE, 1, 0, 0, 0);
        return true;
    }

    /// <summary>True when the stub has reported (the page belongs to the Sentry).</summary>
    public bool IsReported => Volatile.Read(ref Int(StateOffset)) == StateReported;

    /// <summary>
    /// Waits until the stub reports: spins for <paramref name="spinTicks"/> Stopwatch ticks, then
    /// sleeps on the state word in slices of 100 ms, asking <paramref name="alive"/> after each
    /// slice. False when the stub is gone. <paramref name="caughtSpinning"/> tells whether the
    /// report came while this side still spun.
    /// </summary>
    public bool WaitReported(long spinTicks, Func<bool> alive, out bool caughtSpinning)
    {
        caughtSpinning = true;
        if (IsReported) return true;
        if (spinTicks > 0)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            int n = 0;
            while (true)
            {
                if (IsReported) return true;
                if (X86Base.IsSupported) X86Base.Pause();
                if ((++n & 15) == 0 && System.Diagnostics.Stopwatch.GetTimestamp() - start > spinTicks) break;
            }
        }
        caughtSpinning = false;
        // Give the CPU away a few times before sleeping: when the stub waits for a CPU this one
        // runs it at once, far cheaper than a futex sleep and wake-up; on an idle CPU a yield
        // returns at once (a short spin).
        for (int i = 0; i < YieldsBeforeSleep; i++)
        {
            RawSyscall.CallNoGc(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
            if (IsReported) return true;
        }
        var timeout = new Timespec { Seconds = 0, Nanoseconds = 100_000_000 };
        while (true)
        {
            Interlocked.Exchange(ref Int(SentrySleepingOffset), 1);
            int state = Volatile.Read(ref Int(StateOffset));
            if (state != StateReported)
                RawSyscall.Call(SYS_futex, (nint)(_base + StateOffset), FUTEX_WAIT, state, (nint)(&timeout), 0, 0);
            Volatile.Write(ref Int(SentrySleepingOffset), 0);
            if (IsReported) return true;
            if (!alive()) return false;
        }
    }

    /// <summary>
    /// Waits (in slices of 100 ms, asking <paramref name="alive"/> after each) until the host
    /// kernel has zeroed the <see cref="ThreadAliveOffset"/> word, which it does when the stub
    /// thread of this page is gone (CLONE_CHILD_CLEARTID wakes a futex on it).
    /// </summary>
    public void WaitThreadGone(Func<bool> alive)
    {
        var timeout = new Timespec { Seconds = 0, Nanoseconds = 100_000_000 };
        while (true)
        {
            int v = Volatile.Read(ref Int(ThreadAliveOffset));
            if (v == 0) return;
            RawSyscall.Call(SYS_futex, (nint)(_base + ThreadAliveOffset), FUTEX_WAIT, v, (nint)(&timeout), 0, 0);
            if (Volatile.Read(ref Int(ThreadAliveOffset)) != 0 && !alive()) return;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_base == null) return;
        RawSyscall.CallNoGc(SYS_munmap, (nint)_base, Size, 0, 0, 0, 0);
        _base = null;
    }
}
