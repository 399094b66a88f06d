using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>
/// libc socket calls for the host sockets the Sentry holds on the application's behalf
/// (AF_INET/AF_INET6 in the container's network namespace). -1 and errno on failure.
/// </summary>
internal static unsafe partial class HostSockets
{
    [LibraryImport("libc", SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] public static partial int bind(int fd, byte* addr, int len);
    [LibraryImport("libc", SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport("libc", SetLastError = true)] public static partial int accept4(int fd, byte* addr, int* len, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int connect(int fd, byte* addr, int len);
    [LibraryImport("libc", SetLastError = true)] public static partial int getsockname(int fd, byte* addr, int* len);
    [LibraryImport("libc", SetLastError = true)] public static partial int getpeername(int fd, byte* addr, int* len);
    [LibraryImport("libc", SetLastError = true)] public static partial nint sendto(int fd, byte* buf, nint len, int flags, byte* addr, int addrlen);
    [LibraryImport("libc", SetLastError = true)] public static partial nint recvfrom(int fd, byte* buf, nint len, int flags, byte* addr, int* addrlen);
    [LibraryImport("libc", SetLastError = true)] public static partial nint sendmsg(int fd, MsgHdr* msg, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial nint recvmsg(int fd, MsgHdr* msg, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int shutdown(int fd, int how);
    [LibraryImport("libc", SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, byte* val, int len);
    [LibraryImport("libc", SetLastError = true)] public static partial int getsockopt(int fd, int level, int name, byte* val, int* len);
}

/// <summary>struct msghdr (x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public int NameLen;
    public void* Iov;
    public ulong IovLen;
    public void* Control;
    public ulong ControlLen;
    public int Flags;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public ulong Len;
}
