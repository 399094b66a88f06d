using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Platform;

/// <summary>
/// The ptrace platform: every address space is a stub process started from
/// <see cref="StubImage"/> in a memfd; the task thread that creates (or adopts) a stub is its
/// tracer and drives it with PTRACE_SYSEMU.
/// </summary>
internal sealed unsafe class PtracePlatform : IPlatform
{
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
        _spawn = (delegate* unmanaged<int, nint, nint, nint, long>)MakeExecutable(SpawnCode);
    }

    private readonly delegate* unmanaged<int, nint, nint, nint, long> _spawn;

    /// <summary>
    /// spawn(memfd, path, argv, envp): raw clone (no CLONE_VM, exit signal 0); the parent returns
    /// the child's pid (or -errno); the child, without running a single instruction of managed
    /// code (a GC pending at the clone would otherwise park it forever), unblocks all signals,
    /// does PTRACE_TRACEME, closes every fd but the memfd, and execveat(memfd, "", argv, envp,
    /// AT_EMPTY_PATH), or exit_group(127). Source (intel syntax):
    /// push rbx/r12/r13/r14; ebx=memfd r12=path r13=argv r14=envp; clone(0,0,0,0,0);
    /// parent: pop, ret. child: rt_sigprocmask(SIG_SETMASK, &amp;0, 0, 8); ptrace(TRACEME);
    /// if memfd: close_range(0, memfd-1, 0); close_range(memfd+1, ~0, 0); execveat(...); exit_group(127); hlt.
    /// </summary>
    private static readonly byte[] SpawnCode =
    {
        0x53, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x89, 0xfb, 0x49, 0x89, 0xf4,
        0x49, 0x89, 0xd5, 0x49, 0x89, 0xce, 0xb8, 0x38, 0x00, 0x00, 0x00, 0x31,
        0xff, 0x31, 0xf6, 0x31, 0xd2, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xc0, 0x0f,
        0x05, 0x48, 0x85, 0xc0, 0x74, 0x08, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c,
        0x5b, 0xc3, 0x31, 0xc0, 0x50, 0xb8, 0x0e, 0x00, 0x00, 0x00, 0xbf, 0x02,
        0x00, 0x00, 0x00, 0x48, 0x89, 0xe6, 0x31, 0xd2, 0x41, 0xba, 0x08, 0x00,
        0x00, 0x00, 0x0f, 0x05, 0xb8, 0x65, 0x00, 0x00, 0x00, 0x31, 0xff, 0x31,
        0xf6, 0x31, 0xd2, 0x45, 0x31, 0xd2, 0x0f, 0x05, 0x85, 0xdb, 0x74, 0x0e,
        0xb8, 0xb4, 0x01, 0x00, 0x00, 0x31, 0xff, 0x8d, 0x73, 0xff, 0x31, 0xd2,
        0x0f, 0x05, 0xb8, 0xb4, 0x01, 0x00, 0x00, 0x8d, 0x7b, 0x01, 0xbe, 0xff,
        0xff, 0xff, 0xff, 0x31, 0xd2, 0x0f, 0x05, 0xb8, 0x42, 0x01, 0x00, 0x00,
        0x89, 0xdf, 0x4c, 0x89, 0xe6, 0x4c, 0x89, 0xea, 0x4d, 0x89, 0xf2, 0x41,
        0xb8, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x05, 0xb8, 0xe7, 0x00, 0x00, 0x00,
        0xbf, 0x7f, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4,
    };

    private static nint MakeExecutable(byte[] code)
    {
        const ulong PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;
        long addr = RawSyscall.Checked(RawSyscall.SYS_mmap, 0, 4096, (long)(PROT_READ | PROT_WRITE), (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1, 0);
        if (addr < 0) throw new InvalidOperationException($"mmap for the spawn code: errno {-addr}");
        Marshal.Copy(code, 0, (nint)addr, code.Length);
        long r = RawSyscall.Checked(RawSyscall.SYS_mprotect, addr, 4096, (long)(PROT_READ | PROT_EXEC));
        if (r < 0) throw new InvalidOperationException($"mprotect of the spawn code: errno {-r}");
        return (nint)addr;
    }

    /// <inheritdoc/>
    public IPlatformContext NewAddressSpace()
    {
        long pid = _spawn(_memfd, _emptyPath, _argv, _envp);
        if (pid < 0) throw new InvalidOperationException($"clone of a stub failed: errno {-pid}");
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
