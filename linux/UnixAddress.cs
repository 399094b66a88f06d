using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace RunscNet.LinuxInterop;

/// <summary>struct sockaddr_un (unix(7)) for a path: the one encoder the gofer and the runtime use.</summary>
public static class UnixAddress
{
    /// <summary>The longest path sun_path holds with its terminating NUL (108 bytes).</summary>
    public const int MaxPathLength = 107;

    /// <summary>The size of struct sockaddr_un (family + 108 bytes of path).</summary>
    public const int Size = 110;

    /// <summary>
    /// Fills a sockaddr_un for <paramref name="path"/> (relative or absolute) into
    /// <paramref name="buffer"/> (at least <see cref="Size"/> bytes); returns the address length
    /// to pass to bind/connect, or -ENAMETOOLONG.
    /// </summary>
    public static int Make(string path, Span<byte> buffer)
    {
        buffer = buffer[..Size];
        buffer.Clear();
        int n = Encoding.UTF8.GetByteCount(path);
        if (n > MaxPathLength)
        {
            return -Errno.ENAMETOOLONG;
        }
        buffer[0] = (byte)(ushort)LibC.AF_UNIX;
        Encoding.UTF8.GetBytes(path, buffer[2..]);
        return 2 + n + 1;
    }

    /// <summary><see cref="Make(string, Span{byte})"/> into a <see cref="sockaddr_un"/>.</summary>
    public static int Make(string path, out sockaddr_un address)
    {
        address = default;
        return Make(path, MemoryMarshal.AsBytes(new Span<sockaddr_un>(ref address)));
    }
}
