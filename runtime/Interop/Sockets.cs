using Tmds.Linux;

namespace RunscNet.Runtime.Interop;

/// <summary>
/// The runtime's socket helpers around Tmds.LibC's calls: the control socket's address and
/// timeouts. The calls themselves (socket, connect, bind...) are LibC's; SCM_RIGHTS is
/// <see cref="ScmRights"/>.
/// </summary>
internal static unsafe class Sockets
{
    /// <summary>The longest socket path sockaddr_un holds.</summary>
    public const int MaxPathLength = UnixAddress.MaxPathLength;

    /// <summary>Fills a sockaddr_un for <paramref name="path"/>; returns its length.</summary>
    /// <exception cref="RuntimeError">The path is longer than <see cref="MaxPathLength"/> bytes.</exception>
    public static int MakeAddress(string path, out sockaddr_un address)
    {
        int length = UnixAddress.Make(path, out address);
        if (length < 0) throw new RuntimeError($"socket path {path} is longer than {MaxPathLength} bytes");
        return length;
    }

    /// <summary>Sets receive and send timeouts on a socket.</summary>
    public static void SetTimeouts(int fd, TimeSpan timeout)
    {
        long* tv = stackalloc long[2];   // struct timeval
        tv[0] = (long)timeout.TotalSeconds;
        tv[1] = timeout.Milliseconds * 1000L;
        LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, tv, 16);
        LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_SNDTIMEO, tv, 16);
    }
}
