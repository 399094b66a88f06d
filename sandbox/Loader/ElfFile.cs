using System.Buffers.Binary;
using System.Text;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Loader;

/// <summary>One ELF program header (the fields the loader uses).</summary>
internal readonly record struct ProgramHeader(uint Type, uint Flags, ulong Offset, ulong Vaddr, ulong FileSize, ulong MemSize, ulong Align)
{
    public const uint PT_LOAD = 1, PT_INTERP = 3, PT_PHDR = 6, PT_GNU_STACK = 0x6474e551;
    public const uint PF_X = 1, PF_W = 2, PF_R = 4;

    /// <summary>The mmap protection of a PT_LOAD segment.</summary>
    public int Prot => ((Flags & PF_R) != 0 ? 1 : 0) | ((Flags & PF_W) != 0 ? 2 : 0) | ((Flags & PF_X) != 0 ? 4 : 0);
}

/// <summary>
/// A parsed ELF64 x86-64 executable or shared object header: type, entry, program headers and
/// the interpreter path. Anything else (32-bit, other machines, bad headers) is ENOEXEC.
/// </summary>
internal sealed class ElfFile
{
    public const ushort ET_EXEC = 2, ET_DYN = 3, EM_X86_64 = 62;

    /// <summary>ET_EXEC or ET_DYN.</summary>
    public ushort Type { get; private init; }
    /// <summary>e_entry (before the load bias).</summary>
    public ulong Entry { get; private init; }
    /// <summary>e_phoff.</summary>
    public ulong PhOffset { get; private init; }
    /// <summary>The program headers.</summary>
    public IReadOnlyList<ProgramHeader> Headers { get; private init; } = Array.Empty<ProgramHeader>();
    /// <summary>PT_INTERP's path, or null for a static binary.</summary>
    public string? Interpreter { get; private init; }

    /// <summary>The PT_LOAD headers.</summary>
    public IEnumerable<ProgramHeader> Loads => Headers.Where(h => h.Type == ProgramHeader.PT_LOAD);

    /// <summary>True if <paramref name="header"/> starts with the ELF magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> header) =>
        header.Length >= 4 && header[0] == 0x7f && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F';

    /// <summary>
    /// Parses an ELF file whose bytes <paramref name="read"/> returns (offset, buffer → bytes
    /// read or -errno). Returns 0 or -errno (ENOEXEC for anything not loadable here).
    /// </summary>
    public static int Parse(Func<long, Span<byte>, long> read, out ElfFile? elf)
    {
        elf = null;
        var h = new byte[64];
        long n = read(0, h);
        if (n < 0) return (int)n;
        if (n < 64 || !HasMagic(h)) return -Errno.ENOEXEC;
        if (h[4] != 2 || h[5] != 1 || h[6] != 1) return -Errno.ENOEXEC;        // ELFCLASS64, LSB, version 1
        ushort type = U16(h, 16), machine = U16(h, 18);
        if (machine != EM_X86_64 || (type != ET_EXEC && type != ET_DYN)) return -Errno.ENOEXEC;
        ulong entry = U64(h, 24), phoff = U64(h, 32);
        ushort phentsize = U16(h, 54), phnum = U16(h, 56);
        if (phentsize != 56 || phnum == 0 || phnum > 512) return -Errno.ENOEXEC;
        var ph = new byte[phnum * 56];
        n = read((long)phoff, ph);
        if (n < 0) return (int)n;
        if (n != ph.Length) return -Errno.ENOEXEC;
        var headers = new List<ProgramHeader>(phnum);
        string? interp = null;
        for (int i = 0; i < phnum; i++)
        {
            var p = ph.AsSpan(i * 56, 56);
            var hdr = new ProgramHeader(U32(p, 0), U32(p, 4), U64(p, 8), U64(p, 16), U64(p, 32), U64(p, 40), U64(p, 48));
            if (hdr.Type == ProgramHeader.PT_LOAD && hdr.FileSize > hdr.MemSize) return -Errno.ENOEXEC;
            if (hdr.Type == ProgramHeader.PT_INTERP)
            {
                if (hdr.FileSize < 2 || hdr.FileSize > 4096) return -Errno.ENOEXEC;
                var buf = new byte[hdr.FileSize];
                n = read((long)hdr.Offset, buf);
                if (n != buf.Length) return -Errno.ENOEXEC;
                int nul = Array.IndexOf(buf, (byte)0);
                interp = Memory.LinuxText.Decode(buf.AsSpan(0, nul < 0 ? buf.Length : nul));
            }
            headers.Add(hdr);
        }
        if (!headers.Exists(x => x.Type == ProgramHeader.PT_LOAD)) return -Errno.ENOEXEC;
        elf = new ElfFile { Type = type, Entry = entry, PhOffset = phoff, Headers = headers, Interpreter = interp };
        return 0;
    }

    /// <summary>Lowest page-aligned address and highest end (page-aligned up) of the PT_LOAD segments.</summary>
    public (ulong Low, ulong High) Span()
    {
        ulong lo = ulong.MaxValue, hi = 0;
        foreach (var p in Loads)
        {
            lo = Math.Min(lo, p.Vaddr & ~0xfffUL);
            hi = Math.Max(hi, (p.Vaddr + p.MemSize + 0xfff) & ~0xfffUL);
        }
        return (lo, hi);
    }

    /// <summary>The unbiased address of the program headers in memory (PT_PHDR, or the load segment holding e_phoff).</summary>
    public ulong PhdrVaddr()
    {
        foreach (var p in Headers) if (p.Type == ProgramHeader.PT_PHDR) return p.Vaddr;
        foreach (var p in Loads)
            if (PhOffset >= p.Offset && PhOffset < p.Offset + p.FileSize) return p.Vaddr + (PhOffset - p.Offset);
        return 0;
    }

    private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
