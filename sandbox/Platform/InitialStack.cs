using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Platform;

/// <summary>Reads a stub's initial stack (argc, argv..., NULL, envp..., NULL, auxv pairs) as the host kernel built it.</summary>
internal static class InitialStack
{
    private const ulong AT_NULL = 0, AT_SYSINFO_EHDR = 33;

    /// <summary>The host vDSO's base from the auxiliary vector at <paramref name="rsp"/>, or 0 if none is found in the first page.</summary>
    public static ulong FindVdso(PtraceMemory mem, ulong rsp)
    {
        var buf = new byte[4096];
        int n = mem.Read(rsp, buf);
        if (n < 8) return 0;
        var words = MemoryMarshal.Cast<byte, ulong>(buf.AsSpan(0, n & ~7));
        if (words[0] >= (ulong)words.Length) return 0;   // argc past the page: no auxv to read here
        int i = 1 + (int)words[0] + 1;                    // past argv and its NULL
        while (i < words.Length && words[i] != 0) i++;    // past envp
        i++;
        for (; i + 1 < words.Length; i += 2)
        {
            if (words[i] == AT_NULL) break;
            if (words[i] == AT_SYSINFO_EHDR) return words[i + 1];
        }
        return 0;
    }
}
