using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Platform;

/// <summary>Why <see cref="IPlatformContext.Run"/> returned control to the Sentry.</summary>
public enum StopReason
{
    /// <summary>The application made a system call (number in OrigRax, arguments in the registers).</summary>
    Syscall,
    /// <summary>The application took a synchronous fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP); see <see cref="IPlatformContext.FaultInfo"/>.</summary>
    Fault,
    /// <summary><see cref="IPlatformContext.Kick"/> (or a stray host signal) interrupted user code.</summary>
    Interrupted,
    /// <summary>The host process went away (killed from outside).</summary>
    Died,
}

/// <summary>
/// A platform: the way the Sentry executes application code (ptrace now; seccomp-trap later).
/// Creates execution contexts; every context method must be called on the task thread that owns it.
/// </summary>
internal interface IPlatform
{
    /// <summary>Creates a fresh, empty address space with one thread, owned by the calling thread.</summary>
    IPlatformContext NewAddressSpace();

    /// <summary>
    /// Takes over a context created by <see cref="IPlatformContext.ForkAddressSpace"/> or
    /// <see cref="IPlatformContext.CloneThread"/> on the calling thread (which becomes its owner).
    /// <paramref name="regs"/> and <paramref name="fpu"/> become its registers.
    /// </summary>
    IPlatformContext AdoptForked(IForkedContext forked, in Registers regs, in FpuState fpu);
}

/// <summary>A forked address space (or a new thread of one) not yet owned by a task thread.</summary>
internal interface IForkedContext
{
    /// <summary>Destroys the fork (or ends the thread) when no task will adopt it.</summary>
    void Abandon();
}

/// <summary>
/// One application thread and its address space on a platform (threads of one process have one
/// context each over a shared address space). Not thread-safe: only the owning task thread calls
/// it, except <see cref="Kick"/> and <see cref="Memory"/> (which any thread may use).
/// </summary>
internal interface IPlatformContext : IDisposable
{
    /// <summary>The registers; valid after <see cref="Run"/> returns, written back on the next run.</summary>
    ref Registers Regs { get; }

    /// <summary>Reads the FPU/SSE state of the stopped thread.</summary>
    void GetFpu(out FpuState state);

    /// <summary>Replaces the FPU/SSE state of the stopped thread.</summary>
    void SetFpu(in FpuState state);

    /// <summary>Application memory access for this address space.</summary>
    IMemoryIO Memory { get; }

    /// <summary>Address of the host vDSO in this address space (0 if none).</summary>
    ulong VdsoBase { get; }

    /// <summary>Address ranges the platform itself occupies (the application must not map over them).</summary>
    IReadOnlyList<(ulong Start, ulong End)> Reserved { get; }

    /// <summary>Runs the application until its next system call, fault or interruption.</summary>
    StopReason Run();

    /// <summary>The 128-byte host siginfo of the last <see cref="StopReason.Fault"/>.</summary>
    ReadOnlySpan<byte> FaultInfo { get; }

    /// <summary>Runs a host system call inside the address space (mmap, munmap, mprotect...); returns the result or -errno.</summary>
    long HostSyscall(long nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0);

    /// <summary>
    /// Forks the address space (copy-on-write by the host). The result is adopted with
    /// <see cref="IPlatform.AdoptForked"/> on the child's thread; null and -errno on failure.
    /// </summary>
    IForkedContext? ForkAddressSpace(out int errno);

    /// <summary>
    /// Creates a new host thread in this address space (for a CLONE_THREAD task). The result is
    /// adopted with <see cref="IPlatform.AdoptForked"/> on the new task's thread, which then owns
    /// the new context; the address space is shared by all its contexts and ends with the last
    /// one disposed. Null and -errno on failure (EINVAL where the platform has no threads).
    /// </summary>
    IForkedContext? CloneThread(out int errno);

    /// <summary>From any thread: makes a running <see cref="Run"/> return <see cref="StopReason.Interrupted"/> soon.</summary>
    void Kick();

    /// <summary>Host pid of the process that runs the application (for diagnostics, /proc and CPU clocks).</summary>
    int HostPid { get; }

    /// <summary>Host thread id of the thread that runs this task (its thread CPU clock).</summary>
    int HostTid { get; }
}
