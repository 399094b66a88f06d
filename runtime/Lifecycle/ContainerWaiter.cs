using RunscNet.Runtime.Interop;
using RunscNet.Sentry.Platform;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// The host process that is a joined container's pid (`state`, --pid-file): conmon and
/// containerd's shim wait on that pid for the container's exit status, and the container's init
/// is a process of the shared Sentry, not of the host. The waiter is a tiny static program (about
/// 100 bytes of machine code, no .NET runtime: a pod pays almost nothing per container for it)
/// that reads the init's wait status from a pipe whose write end the Sentry holds, then exits
/// with its code or kills itself with its signal; if the Sentry ends without writing one, the
/// waiter exits 255.
/// </summary>
public static class ContainerWaiter
{
    private const ulong Base = 0x400000;

    // Assembled with `as` (Intel syntax) from:
    //   _start: sub rsp, 16
    //   again:  xor eax, eax; xor edi, edi; mov rsi, rsp; mov edx, 4; syscall   ; read(0, rsp, 4)
    //           cmp rax, -4; je again                                            ; EINTR
    //           cmp rax, 4; jne unknown
    //           mov ebx, [rsp]; mov r12d, ebx; and r12d, 0x7f; jz exited         ; signal?
    //           mov eax, 39; syscall; mov edi, eax; mov esi, r12d; mov eax, 62; syscall ; kill(getpid(), sig)
    //           lea edi, [r12 + 128]; jmp quit                                   ; still alive: 128 + sig
    //   exited: mov edi, ebx; shr edi, 8; and edi, 0xff; jmp quit
    //   unknown: mov edi, 255                                                    ; no status: the sandbox died
    //   quit:   mov eax, 231; syscall; hlt                                       ; exit_group
    private static readonly byte[] Code =
    [
        0x48, 0x83, 0xec, 0x10, 0x31, 0xc0, 0x31, 0xff, 0x48, 0x89, 0xe6, 0xba,
        0x04, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0xfc, 0x74, 0xec,
        0x48, 0x83, 0xf8, 0x04, 0x75, 0x36, 0x8b, 0x1c, 0x24, 0x41, 0x89, 0xdc,
        0x41, 0x83, 0xe4, 0x7f, 0x74, 0x1d, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f,
        0x05, 0x89, 0xc7, 0x44, 0x89, 0xe6, 0xb8, 0x3e, 0x00, 0x00, 0x00, 0x0f,
        0x05, 0x41, 0x8d, 0xbc, 0x24, 0x80, 0x00, 0x00, 0x00, 0xeb, 0x12, 0x89,
        0xdf, 0xc1, 0xef, 0x08, 0x81, 0xe7, 0xff, 0x00, 0x00, 0x00, 0xeb, 0x05,
        0xbf, 0xff, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05,
        0xf4,
    ];

    /// <summary>The waiter's ELF image.</summary>
    public static byte[] Image()
    {
        var image = new byte[StubElf.HeadersSize + Code.Length];
        StubElf.WriteHeaders(image, Base, Base + StubElf.HeadersSize, (ulong)image.Length);
        Code.CopyTo(image, StubElf.HeadersSize);
        return image;
    }

    /// <summary>
    /// Starts the waiter of container <paramref name="id"/> reading the status from
    /// <paramref name="statusReadFd"/> (its stdin); returns its pid. Its command line names the
    /// root and the container, for ps. It holds no other fd of ours.
    /// </summary>
    public static unsafe int Start(string rootDir, string id, int statusReadFd)
    {
        byte[] image = Image();
        using var memfd = new FileDescriptor(Processes.MemfdCreate("runsc-net-waiter", Processes.MFD_CLOEXEC));
        if (memfd.IsInvalid) throw new RuntimeError($"memfd_create: {Processes.LastError()}");
        fixed (byte* p = image)
            if (Processes.PWrite(memfd.Number, p, image.Length, 0) != image.Length)
                throw new RuntimeError($"writing the waiter image: {Processes.LastError()}");
        using var devNull = new FileDescriptor(Processes.Open("/dev/null", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0));
        if (devNull.IsInvalid) throw new RuntimeError($"opening /dev/null: {Processes.LastError()}");
        var waiter = new NamespacedProcess
        {
            Executable = "/proc/self/fd/3",
            Arguments = ["runsc-net-waiter", "--root", Path.GetFullPath(rootDir), id],
            Environment = [],
            Fds = new Dictionary<int, int> { [0] = statusReadFd, [1] = devNull.Number, [2] = devNull.Number, [3] = memfd.Number },
            NewSession = true,
        };
        return waiter.Start();
    }
}
