using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Platform;

/// <summary>
/// The ptrace platform: every address space is a stub process started from
/// <see cref="StubImage"/> in a memfd; the task thread that creates (or adopts) a stub is its
/// tracer and drives it with PTRACE_SYSEMU.
/// </summary>
public sealed unsafe class PtracePlatform : IPlatform
{
    private const long AT_EMPTY_PATH = 0x1000;
    private const uint MFD_CLOEXEC = 1;

    private readonly int _memfd;
    private readonly nint _emptyPath;
    private readonly nint _argv;
    private readonly nint _envp;

    /// <summary>Writes the stub into a memfd the Sentry keeps open.</summary>
    public PtracePlatform()
    {
        nint name = Marshal.StringToHGlobalAnsi("runsc-net-stub");
        long fd = RawSyscall.Checked(RawSyscall.SYS_memfd_create, name, MFD_CLOEXEC);
        if (fd < 0) throw new InvalidOperationException($"memfd_create for the stub: errno {-fd}");
        _memfd = (int)fd;
        byte[] image = StubImage.Build();
        fixed (byte* p = image)
        {
            if (HostIo.Write(_memfd, p, (nuint)image.Length) != image.Length)
                throw new InvalidOperationException("writing the stub image failed");
        }
        _emptyPath = Marshal.AllocHGlobal(8);
        *(byte*)_emptyPath = 0;
        _argv = Marshal.AllocHGlobal(16);
        ((nint*)_argv)[0] = name;
        ((nint*)_argv)[1] = 0;
        _envp = Marshal.AllocHGlobal(8);
        *(nint*)_envp = 0;
        // Resolve (and, under a JIT, compile) the P/Invoke the cloned child uses before any clone.
        RawSyscall.CallNoGc(RawSyscall.SYS_getpid, 0, 0, 0, 0, 0, 0);
    }

    /// <inheritdoc/>
    public IPlatformContext NewAddressSpace()
    {
        long pid = RawSyscall.CallNoGc(RawSyscall.SYS_clone, 0, 0, 0, 0, 0, 0);
        if (pid == 0)
        {
            // The child: straight-line raw system calls only, then the stub (or death).
            RawSyscall.CallNoGc(RawSyscall.SYS_ptrace, Ptrace.TRACEME, 0, 0, 0, 0, 0);
            if (_memfd > 0) RawSyscall.CallNoGc(RawSyscall.SYS_close_range, 0, _memfd - 1, 0, 0, 0, 0);
            RawSyscall.CallNoGc(RawSyscall.SYS_close_range, _memfd + 1, uint.MaxValue, 0, 0, 0, 0);
            RawSyscall.CallNoGc(RawSyscall.SYS_execveat, _memfd, _emptyPath, _argv, _envp, AT_EMPTY_PATH, 0);
            RawSyscall.CallNoGc(RawSyscall.SYS_exit_group, 127, 0, 0, 0, 0, 0);
        }
        if (pid < 0) throw new InvalidOperationException($"clone of a stub failed: errno {Marshal.GetLastPInvokeError()}");
        return PtraceContext.StartNew((int)pid);
    }

    /// <inheritdoc/>
    public IPlatformContext AdoptForked(IForkedContext forked, in Registers regs, in FpuState fpu)
        => PtraceContext.Adopt((PtraceForked)forked, regs, fpu);
}

/// <summary>A forked stub waiting for its new tracer (see <see cref="PtraceContext.ForkAddressSpace"/>).</summary>
internal sealed class PtraceForked : IForkedContext
{
    public required int Pid { get; init; }
    public required ulong VdsoBase { get; init; }
    public required IReadOnlyList<(ulong Start, ulong End)> Reserved { get; init; }

    public void Abandon()
    {
        HostIo.Kill(Pid, 9);
        PtraceContext.Reap(Pid);
    }
}
