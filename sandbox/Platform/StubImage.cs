namespace RunscNet.Sentry.Platform;

/// <summary>
/// The stub program: a 160-byte static ELF the Sentry writes itself and executes in every new
/// address space, so nothing from the container is trusted to start one. It is never run
/// freely; the Sentry points the stopped thread at one of its two entry points:
/// <list type="bullet">
/// <item><see cref="SyscallAddress"/>: <c>syscall; int3</c> (run one host system call, stop).</item>
/// <item><see cref="ForkAddress"/>: <c>syscall</c> (clone); the parent stops on <c>int3</c>; the child
/// stops itself with <c>kill(getpid(), SIGSTOP)</c> and waits to be seized by its new tracer.</item>
/// </list>
/// </summary>
internal static class StubImage
{
    /// <summary>Where the stub is loaded (one page, read+execute).</summary>
    public const ulong Base = 0x7e00_0000_0000;

    private const int CodeOffset = StubElf.HeadersSize;

    /// <summary>The <c>syscall; int3</c> entry.</summary>
    public const ulong SyscallAddress = Base + CodeOffset;

    /// <summary>The fork entry (<c>syscall</c> = clone, then parent/child split).</summary>
    public const ulong ForkAddress = Base + CodeOffset + 3;

    /// <summary>The ELF entry point (an <c>int3</c>; the Sentry sets the registers before any run).</summary>
    public const ulong EntryAddress = Base + CodeOffset + 31;

    private static readonly byte[] Code =
    {
        0x0f, 0x05,                   // +0  syscall
        0xcc,                         // +2  int3
        0x0f, 0x05,                   // +3  syscall (clone)
        0x48, 0x85, 0xc0,             // +5  test rax, rax
        0x75, 0xf8,                   // +8  jnz +2 (parent: int3)
        0xb8, 0x27, 0, 0, 0,          // +10 mov eax, 39 (getpid)
        0x0f, 0x05,                   // +15 syscall
        0x89, 0xc7,                   // +17 mov edi, eax
        0xbe, 0x13, 0, 0, 0,          // +19 mov esi, 19 (SIGSTOP)
        0xb8, 0x3e, 0, 0, 0,          // +24 mov eax, 62 (kill)
        0x0f, 0x05,                   // +29 syscall
        0xcc,                         // +31 int3 (entry)
        0xeb, 0xfe,                   // +32 jmp .
    };

    /// <summary>Builds the ELF file image.</summary>
    public static byte[] Build()
    {
        var image = new byte[CodeOffset + Code.Length];
        var s = image.AsSpan();
        StubElf.WriteHeaders(s, Base, EntryAddress, (ulong)image.Length);
        Code.CopyTo(s[CodeOffset..]);
        return image;
    }
}
