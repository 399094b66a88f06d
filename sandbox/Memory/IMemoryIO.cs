using System.Runtime.InteropServices;
using System.Text;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Memory;

/// <summary>
/// Access to one application address space (on the ptrace platform: process_vm_readv/writev
/// on the stub). Implementations return the number of bytes copied; a short count means the
/// rest of the range is not mapped (the caller turns that into EFAULT).
/// </summary>
internal interface IMemoryIO
{
    /// <summary>Copies application memory at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    int Read(ulong address, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> into application memory at <paramref name="address"/>.</summary>
    int Write(ulong address, ReadOnlySpan<byte> source);
}

/// <summary>Typed copy-in/copy-out helpers used by every system-call handler.</summary>
internal static class MemoryIOExtensions
{
    /// <summary>Copies exactly <c>destination.Length</c> bytes in, or returns -EFAULT.</summary>
    public static int CopyIn(this IMemoryIO io, ulong address, Span<byte> destination)
        => destination.Length == 0 || io.Read(address, destination) == destination.Length ? 0 : -Errno.EFAULT;

    /// <summary>Copies all of <paramref name="source"/> out, or returns -EFAULT.</summary>
    public static int CopyOut(this IMemoryIO io, ulong address, ReadOnlySpan<byte> source)
        => source.Length == 0 || io.Write(address, source) == source.Length ? 0 : -Errno.EFAULT;

    /// <summary>Reads an unmanaged struct (Linux ABI layout) from application memory.</summary>
    public static int CopyInStruct<T>(this IMemoryIO io, ulong address, out T value) where T : unmanaged
    {
        value = default;
        return io.CopyIn(address, MemoryMarshal.AsBytes(new Span<T>(ref value)));
    }

    /// <summary>Writes an unmanaged struct (Linux ABI layout) to application memory.</summary>
    public static int CopyOutStruct<T>(this IMemoryIO io, ulong address, in T value) where T : unmanaged
    {
        T copy = value;
        return io.CopyOut(address, MemoryMarshal.AsBytes(new Span<T>(ref copy)));
    }

    /// <summary>
    /// Reads a NUL-terminated string of at most <paramref name="maxLength"/> bytes (PATH_MAX for
    /// paths). Returns 0 and the string, -EFAULT, or -ENAMETOOLONG when no NUL is found in range.
    /// </summary>
    public static int CopyInString(this IMemoryIO io, ulong address, int maxLength, out string value)
    {
        value = "";
        if (address == 0) return -Errno.EFAULT;
        Span<byte> chunk = stackalloc byte[256];
        var bytes = new List<byte>(64);
        while (bytes.Count < maxLength)
        {
            // Never read across a page boundary in one go: the next page may be unmapped.
            ulong addr = address + (ulong)bytes.Count;
            int pageLeft = (int)(4096 - (addr & 4095));
            int want = Math.Min(Math.Min(chunk.Length, pageLeft), maxLength - bytes.Count);
            int got = io.Read(addr, chunk[..want]);
            if (got <= 0) return -Errno.EFAULT;
            int nul = chunk[..got].IndexOf((byte)0);
            if (nul >= 0)
            {
                for (int i = 0; i < nul; i++) bytes.Add(chunk[i]);
                value = LinuxText.Decode(CollectionsMarshal.AsSpan(bytes));
                return 0;
            }
            for (int i = 0; i < got; i++) bytes.Add(chunk[i]);
        }
        return -Errno.ENAMETOOLONG;
    }

    /// <summary>Reads a NULL-terminated array of string pointers (argv, envp) of at most <paramref name="maxCount"/> entries.</summary>
    public static int CopyInStringArray(this IMemoryIO io, ulong address, int maxCount, out List<string> values)
    {
        values = new List<string>();
        if (address == 0) return 0;
        for (int i = 0; i < maxCount; i++)
        {
            int err = io.CopyInStruct(address + (ulong)(i * 8), out ulong ptr);
            if (err != 0) return err;
            if (ptr == 0) return 0;
            err = io.CopyInString(ptr, 128 * 1024, out string s);
            if (err != 0) return err == -Errno.ENAMETOOLONG ? -Errno.E2BIG : err;
            values.Add(s);
        }
        return -Errno.E2BIG;
    }
}
