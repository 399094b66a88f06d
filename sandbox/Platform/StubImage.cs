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
public static class StubImage
{
    /// <summary>Where the stub is loaded (one page, read+execute).</summary>
    public const ulong Base = 0x7e00_0000_0000;

    private const int CodeOffset = 64 + 56;

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
        byte[] ident = { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 };
        ident.CopyTo(s);
        W16(s, 16, 2);                 // ET_EXEC
        W16(s, 18, 0x3e);              // EM_X86_64
        W32(s, 20, 1);                 // EV_CURRENT
        W64(s, 24, EntryAddress);
        W64(s, 32, 64);                // e_phoff
        W16(s, 52, 64);                // e_ehsize
        W16(s, 54, 56);                // e_phentsize
        W16(s, 56, 1);                 // e_phnum
        var ph = s[64..];
        W32(ph, 0, 1);                 // PT_LOAD
        W32(ph, 4, 5);                 // PF_R | PF_X
        W64(ph, 8, 0);                 // p_offset
        W64(ph, 16, Base);
        W64(ph, 24, Base);
        W64(ph, 32, (ulong)image.Length);
        W64(ph, 40, (ulong)image.Length);
        W64(ph, 48, 0x1000);
        Code.CopyTo(s[CodeOffset..]);
        return image;
    }

    private static void W16(Span<byte> s, int o, ushort v) => BitConverter.TryWriteBytes(s[o..], v);
    private static void W32(Span<byte> s, int o, uint v) => BitConverter.TryWriteBytes(s[o..], v);
    private static void W64(Span<byte> s, int o, ulong v) => BitConverter.TryWriteBytes(s[o..], v);
}
