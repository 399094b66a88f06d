namespace RunscNet.Sentry.Platform;

/// <summary>
/// The ELF64 header and single PT_LOAD program header (read + execute, at a fixed address) that
/// every stub image starts with; the platforms place their machine code after it.
/// </summary>
public static class StubElf
{
    /// <summary>Size of the ELF header plus the one program header.</summary>
    public const int HeadersSize = 64 + 56;

    /// <summary>Writes the headers for an image of <paramref name="size"/> bytes loaded at <paramref name="baseAddress"/>.</summary>
    public static void WriteHeaders(Span<byte> s, ulong baseAddress, ulong entry, ulong size)
    {
        byte[] ident = { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 };
        ident.CopyTo(s);
        W16(s, 16, 2);                 // ET_EXEC
        W16(s, 18, 0x3e);              // EM_X86_64
        W32(s, 20, 1);                 // EV_CURRENT
        W64(s, 24, entry);
        W64(s, 32, 64);                // e_phoff
        W16(s, 52, 64);                // e_ehsize
        W16(s, 54, 56);                // e_phentsize
        W16(s, 56, 1);                 // e_phnum
        var ph = s[64..];
        W32(ph, 0, 1);                 // PT_LOAD
        W32(ph, 4, 5);                 // PF_R | PF_X
        W64(ph, 8, 0);                 // p_offset
        W64(ph, 16, baseAddress);      // p_vaddr
        W64(ph, 24, baseAddress);      // p_paddr
        W64(ph, 32, size);             // p_filesz
        W64(ph, 40, size);             // p_memsz
        W64(ph, 48, 0x1000);           // p_align
    }

    private static void W16(Span<byte> s, int o, ushort v) => BitConverter.TryWriteBytes(s[o..], v);
    private static void W32(Span<byte> s, int o, uint v) => BitConverter.TryWriteBytes(s[o..], v);
    private static void W64(Span<byte> s, int o, ulong v) => BitConverter.TryWriteBytes(s[o..], v);
}
