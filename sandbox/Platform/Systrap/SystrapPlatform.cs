using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

// Lock order: every lock of the systrap platform is a leaf (StubThreads._lock,
// StubSyscallApprover._lock, StubLauncher.Lock): none is held while another is taken. The
// shared page between Sentry and stub is driven with Interlocked and futexes, not locks.

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// The systrap platform: every address space is a stub process started from
/// <see cref="SystrapStub"/> whose seccomp filter turns each application system call into a SIGSYS
/// that the stub's own handler hands to the Sentry through a shared page (spin, then futex). No
/// ptrace: any thread may create a stub; the task thread that runs it is the only one that talks
/// to it, except <see cref="IPlatformContext.Kick"/>.
/// </summary>
internal sealed unsafe class SystrapPlatform : IPlatform
{
    private const uint MFD_CLOEXEC = 1;
    private const int F_DUPFD_CLOEXEC = 1030;
    private const long SYS_ftruncate = 77, SYS_fcntl = 72;

    private readonly int _stubFd;
    private readonly nint _name;
    private readonly nint _emptyPath;
    private readonly nint _argv;
    private readonly nint _envp;

    private readonly double _pauseNanoseconds = HandoffSpin.MeasurePause();
    private readonly StubSpawner _spawner = new();

    /// <summary>The name of the shared-page memfds the Sentry makes (a NUL-terminated native string).</summary>
    internal static readonly nint PageMemfdName = Marshal.StringToHGlobalAnsi("runsc-net-page");

    /// <summary>Lets the stubs' clone, memfd_create and socketpair through for the Sentry's own commands only.</summary>
    internal StubSyscallApprover Approver { get; } = new();

    /// <summary>
    /// The longest the Sentry spins for a stub's report before it sleeps (microseconds; 0 = never
    /// spin). On a VM a futex sleep and wake-up costs tens of microseconds per hand-off, and a
    /// hand-off caught while spinning a few; budgets of 20/10 us missed most hand-offs there
    /// (getpid 30-90 us), 100/50 us catch them (3 us). <see cref="HandoffSpin"/> halves a
    /// budget after each miss, so oversubscribed CPUs still stop spinning.
    /// </summary>
    public int MaxSentrySpinMicroseconds { get; init; } = 100;

    /// <summary>The longest a stub spins for the Sentry's answer before it sleeps (microseconds; 0 = never spin).</summary>
    public int MaxStubSpinMicroseconds { get; init; } = 50;

    /// <summary>Writes the stub into a memfd the Sentry keeps open.</summary>
    public SystrapPlatform()
    {
        _name = Marshal.StringToHGlobalAnsi("runsc-net-systrap");
        _stubFd = NewMemfd(_name);
        byte[] image = SystrapStub.Build();
        fixed (byte* p = image)
        {
            if (HostIo.Write(_stubFd, p, (nuint)image.Length) != image.Length)
                throw new InvalidOperationException("writing the systrap stub image failed");
        }
        _emptyPath = Marshal.AllocHGlobal(8);
        *(byte*)_emptyPath = 0;
        _argv = Marshal.AllocHGlobal(16);
        ((nint*)_argv)[0] = _name;
        ((nint*)_argv)[1] = 0;
        _envp = Marshal.AllocHGlobal(8);
        *(nint*)_envp = 0;
    }

    /// <summary>A close-on-exec memfd numbered 3 or higher (the stub's child code dups onto 0 and 1).</summary>
    internal static int NewMemfd(nint name)
    {
        long fd = RawSyscall.Checked(RawSyscall.SYS_memfd_create, name, MFD_CLOEXEC);
        if (fd < 0) throw new InvalidOperationException($"memfd_create: errno {-fd}");
        if (fd < 3)
        {
            long high = RawSyscall.Checked(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3);
            FileDescriptor.Close((int)fd);
            if (high < 0) throw new InvalidOperationException($"fcntl(F_DUPFD_CLOEXEC): errno {-high}");
            fd = high;
        }
        return (int)fd;
    }

    /// <inheritdoc/>
    public IPlatformContext NewAddressSpace()
    {
        int shm = NewMemfd(_name);
        SharedPage? page = null;
        try
        {
            long r = RawSyscall.Checked(SYS_ftruncate, shm, SharedPage.Size);
            if (r < 0) throw new InvalidOperationException($"ftruncate of a stub's shared page: errno {-r}");
            page = new SharedPage(shm);
            page.Int(SharedPage.SpinOffset) = 0;
            page.Int(SharedPage.SentryPidOffset) = HostIo.GetPid();

            var request = new StubLauncher.Request
            {
                StubFd = _stubFd,
                SharedFd = shm,
                EmptyPath = _emptyPath,
                Argv = _argv,
                Envp = _envp,
            };
            long pid = _spawner.Spawn(&request);
            if (pid < 0) throw new InvalidOperationException($"clone of a systrap stub failed: errno {-pid}");
            FileDescriptor.Close(shm);
            shm = -1;
            var ctx = SystrapContext.StartNew(this, (int)pid, page);
            page = null;
            return ctx;
        }
        finally
        {
            if (shm >= 0) FileDescriptor.Close(shm);
            page?.Dispose();
        }
    }

    /// <inheritdoc/>
    public IPlatformContext AdoptForked(IForkedContext forked, in Registers regs, in FpuState fpu)
        => forked is SystrapThread thread
            ? SystrapContext.AdoptThread(this, thread, regs, fpu)
            : SystrapContext.Adopt(this, (SystrapForked)forked, regs, fpu);

    /// <summary>Spin budgets for a new context.</summary>
    internal HandoffSpin NewHandoffSpin() => new(MaxSentrySpinMicroseconds, MaxStubSpinMicroseconds, _pauseNanoseconds);
}
