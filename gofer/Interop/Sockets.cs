using System.Runtime.InteropServices;

namespace RunscNet.Gofer.Interop;

/// <summary>One element of a scatter/gather array (struct iovec).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVector
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr (64-bit Linux layout: natural alignment gives the padding).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>
/// Socket system calls of libc: socketpair, sendmsg/recvmsg with SCM_RIGHTS ancillary data,
/// and the unix-socket calls the gofer makes on the Sentry's behalf.
/// </summary>
internal static unsafe partial class Sockets
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
    public const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    public const int SO_SNDBUF = 7, SO_RCVBUF = 8;
    public const int MSG_TRUNC = 0x20, MSG_CTRUNC = 0x8, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    public const int SHUT_RDWR = 2;

    /// <summary>Size of struct cmsghdr on 64-bit Linux (len is size_t, then level and type).</summary>
    public const int ControlHeaderSize = 16;

    /// <summary>CMSG_ALIGN: ancillary data is aligned to size_t.</summary>
    public static int ControlAlign(int length) => (length + 7) & ~7;

    /// <summary>CMSG_SPACE: bytes a control message with <paramref name="dataLength"/> bytes of data occupies.</summary>
    public static int ControlSpace(int dataLength) => ControlHeaderSize + ControlAlign(dataLength);

    /// <summary>CMSG_LEN: the cmsg_len value for <paramref name="dataLength"/> bytes of data.</summary>
    public static int ControlLength(int dataLength) => ControlHeaderSize + dataLength;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint ReceiveMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, byte* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSocketOption(int fd, int level, int name, int* value, uint valueLength);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    /// <summary>
    /// Fills a struct sockaddr_un for <paramref name="path"/> (a relative or absolute path, at
    /// most 107 bytes) into <paramref name="buffer"/> (110 bytes); returns the address length or
    /// -ENAMETOOLONG.
    /// </summary>
    public static int MakeUnixAddress(string path, Span<byte> buffer)
    {
        buffer.Clear();
        buffer[0] = AF_UNIX;
        buffer[1] = 0;
        int n = System.Text.Encoding.UTF8.GetByteCount(path);
        if (n > 107)
        {
            return -Errno.ENAMETOOLONG;
        }
        System.Text.Encoding.UTF8.GetBytes(path, buffer[2..]);
        return 2 + n + 1;
    }
}
