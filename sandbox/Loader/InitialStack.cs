using System.Buffers.Binary;
using System.Text;

namespace RunscNet.Sentry.Loader;

/// <summary>Auxiliary vector entry types (elf.h AT_*).</summary>
internal static class AuxType
{
    public const ulong AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
        AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15,
        AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_HWCAP2 = 26, AT_EXECFN = 31,
        AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;
}

/// <summary>
/// Builds the initial process stack exactly as Linux lays it out: from the top, the executable
/// name, the environment and argument strings, the platform string and 16 random bytes; below
/// them (16-byte aligned) argc, argv pointers, NULL, envp pointers, NULL, and the auxv pairs.
/// AT_EXECFN, AT_PLATFORM and AT_RANDOM are filled in with the addresses of those strings.
/// </summary>
internal static class InitialStack
{
    /// <summary>The built image: bytes to write at <see cref="Result.Bottom"/> and the resulting stack pointer.</summary>
    public readonly record struct Result(byte[] Bytes, ulong Bottom, ulong StackPointer,
        ulong ArgStart, ulong ArgEnd, ulong EnvStart, ulong EnvEnd, byte[] Auxv);

    /// <summary>
    /// Lays out the stack ending at <paramref name="top"/>. <paramref name="auxv"/> holds the
    /// entries other than AT_EXECFN/AT_PLATFORM/AT_RANDOM/AT_NULL, which this adds.
    /// </summary>
    public static Result Build(ulong top, IReadOnlyList<string> argv, IReadOnlyList<string> envp, string execFn,
        IReadOnlyList<(ulong Type, ulong Value)> auxv, ReadOnlySpan<byte> random16)
    {
        var strings = new List<byte>();
        // Strings grow down from top; collect them bottom-up as Linux places them:
        // [argv strings][envp strings][execfn][8 zero bytes] ending at top.
        byte[] Z(string s) => Memory.LinuxText.Encode(s + "\0");
        var argBytes = argv.Select(Z).ToArray();
        var envBytes = envp.Select(Z).ToArray();
        byte[] execBytes = Z(execFn);
        int stringsLen = argBytes.Sum(b => b.Length) + envBytes.Sum(b => b.Length) + execBytes.Length + 8;
        ulong stringsStart = top - (ulong)stringsLen;
        ulong p = stringsStart;
        var argPtrs = new ulong[argv.Count];
        ulong argStart = p;
        for (int i = 0; i < argBytes.Length; i++) { argPtrs[i] = p; strings.AddRange(argBytes[i]); p += (ulong)argBytes[i].Length; }
        ulong argEnd = p, envStart = p;
        var envPtrs = new ulong[envp.Count];
        for (int i = 0; i < envBytes.Length; i++) { envPtrs[i] = p; strings.AddRange(envBytes[i]); p += (ulong)envBytes[i].Length; }
        ulong envEnd = p;
        ulong execFnAddr = p;
        strings.AddRange(execBytes);
        strings.AddRange(new byte[8]);

        // Platform string and AT_RANDOM bytes below the strings.
        byte[] platform = Encoding.ASCII.GetBytes("x86_64\0");
        ulong platformAddr = (stringsStart - (ulong)platform.Length) & ~15UL;
        ulong randomAddr = (platformAddr - 16) & ~15UL;

        var aux = new List<(ulong, ulong)>(auxv)
        {
            (AuxType.AT_RANDOM, randomAddr),
            (AuxType.AT_EXECFN, execFnAddr),
            (AuxType.AT_PLATFORM, platformAddr),
            (AuxType.AT_NULL, 0),
        };
        int words = 1 + argv.Count + 1 + envp.Count + 1 + aux.Count * 2;
        ulong sp = (randomAddr - (ulong)(words * 8)) & ~15UL;

        ulong bottom = sp;
        var image = new byte[top - bottom];
        Span<byte> img = image;
        void W(ulong addr, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)(addr - bottom)), v);
        ulong at = sp;
        W(at, (ulong)argv.Count); at += 8;
        foreach (var a in argPtrs) { W(at, a); at += 8; }
        W(at, 0); at += 8;
        foreach (var e in envPtrs) { W(at, e); at += 8; }
        W(at, 0); at += 8;
        ulong auxStart = at;
        foreach (var (t, v) in aux) { W(at, t); W(at + 8, v); at += 16; }
        byte[] auxBytes = image.AsSpan((int)(auxStart - bottom), aux.Count * 16).ToArray();
        random16[..16].CopyTo(img[(int)(randomAddr - bottom)..]);
        platform.CopyTo(img[(int)(platformAddr - bottom)..]);
        strings.ToArray().CopyTo(img[(int)(stringsStart - bottom)..]);
        return new Result(image, bottom, sp, argStart, argEnd, envStart, envEnd, auxBytes);
    }
}
