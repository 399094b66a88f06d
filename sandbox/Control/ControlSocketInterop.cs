using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Control;

/// <summary>libc socket calls of the control protocol: accept, read/write and peer credentials (fds ride in <see cref="ScmRights"/>).</summary>
internal static unsafe partial class ControlSocketInterop
{
    public const int SOL_SOCKET = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int MSG_NOSIGNAL = 0x4000;

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, void* address, void* addressLength, int flags);

    public const int SO_PEERCRED = 17;

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int name, void* value, int* length);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint count, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    public const short POLLHUP = 0x10, POLLRDHUP = 0x2000;

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, ulong count, int timeoutMs);

    /// <summary>struct ucred (SO_PEERCRED).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PeerCredentials
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    /// <summary>The credentials the peer of connected unix socket <paramref name="fd"/> had at connect(2); false if unknown.</summary>
    public static bool TryPeerCredentials(int fd, out PeerCredentials credentials)
    {
        PeerCredentials c;
        int length = sizeof(PeerCredentials);
        bool ok = GetSockOpt(fd, SOL_SOCKET, SO_PEERCRED, &c, &length) == 0 && length == sizeof(PeerCredentials);
        credentials = c;
        return ok;
    }
}
