using System.Runtime.InteropServices;
using System.Text;

namespace RunscNet.Runtime.Interop;

/// <summary>libc socket calls of the runtime: the control socket and the gofer socketpair.</summary>
internal static unsafe partial class Sockets
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_SEQPACKET = 5;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_RCVTIMEO = 20;
    public const int SO_SNDTIMEO = 21;
    public const int MaxPathLength = 107;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddrUnix* address, int length);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockAddrUnix* address, int length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    public static partial int FChmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    /// <summary>struct sockaddr_un.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrUnix
    {
        public ushort Family;
        public fixed byte Path[108];
    }

    /// <summary>Fills a sockaddr_un for <paramref name="path"/>; returns its length.</summary>
    public static int MakeAddress(string path, out SockAddrUnix address)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length > MaxPathLength) throw new RuntimeError($"socket path {path} is longer than {MaxPathLength} bytes");
        address = default;
        address.Family = AF_UNIX;
        fixed (byte* p = address.Path) bytes.CopyTo(new Span<byte>(p, 108));
        return 2 + bytes.Length + 1;
    }

    /// <summary>Sets receive and send timeouts on a socket.</summary>
    public static void SetTimeouts(int fd, TimeSpan timeout)
    {
        long* tv = stackalloc long[2];
        tv[0] = (long)timeout.TotalSeconds;
        tv[1] = timeout.Milliseconds * 1000L;
        SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
        SetSockOpt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16);
    }
}

/// <summary>Sending one fd over a unix socket (SCM_RIGHTS), as runc's console socket protocol does.</summary>
internal static unsafe partial class FdPassing
{
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_NOSIGNAL = 0x4000;

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int fd, MessageHeader* message, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>Sends <paramref name="data"/> with <paramref name="fdToSend"/> attached on connected socket <paramref name="socket"/>; returns false with errno set on failure.</summary>
    public static bool Send(int socket, ReadOnlySpan<byte> data, int fdToSend)
    {
        const int controlLength = 16 + sizeof(int); // cmsghdr (len, level, type) + one int
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(nuint*)control = controlLength;
        *(int*)(control + 8) = SOL_SOCKET;
        *(int*)(control + 12) = SCM_RIGHTS;
        *(int*)(control + 16) = fdToSend;
        fixed (byte* p = data)
        {
            var iov = new IoVector { Base = p, Length = (nuint)data.Length };
            var msg = new MessageHeader { Iov = &iov, IovLength = 1, Control = control, ControlLength = 24 };
            return SendMsg(socket, &msg, MSG_NOSIGNAL) >= 0;
        }
    }
}
