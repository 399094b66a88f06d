using Tmds.Linux;

namespace RunscNet.Sentry.Interop;

/// <summary>
/// Tmds.LibC's socket calls typed for the byte buffers HostSocket keeps addresses in (no
/// declarations of our own), for the host sockets for the host sockets the Sentry holds on the application's behalf
/// (AF_INET/AF_INET6 in the container's network namespace). -1 and errno on failure.
/// </summary>
internal static unsafe class HostSockets
{
    public static int socket(int domain, int type, int protocol) => LibC.socket(domain, type, protocol);
    public static int bind(int fd, byte* addr, int len) => LibC.bind(fd, (sockaddr*)addr, len);
    public static int listen(int fd, int backlog) => LibC.listen(fd, backlog);
    public static int accept4(int fd, byte* addr, int* len, int flags) => LibC.accept4(fd, (sockaddr*)addr, (socklen_t*)len, flags);
    public static int connect(int fd, byte* addr, int len) => LibC.connect(fd, (sockaddr*)addr, len);
    public static int getsockname(int fd, byte* addr, int* len) => LibC.getsockname(fd, (sockaddr*)addr, (socklen_t*)len);
    public static int getpeername(int fd, byte* addr, int* len) => LibC.getpeername(fd, (sockaddr*)addr, (socklen_t*)len);
    public static nint sendto(int fd, byte* buf, nint len, int flags, byte* addr, int addrlen) => (nint)(long)LibC.sendto(fd, buf, (size_t)(ulong)len, flags, (sockaddr*)addr, addrlen);
    public static nint recvfrom(int fd, byte* buf, nint len, int flags, byte* addr, int* addrlen) => (nint)(long)LibC.recvfrom(fd, buf, (size_t)(ulong)len, flags, (sockaddr*)addr, (socklen_t*)addrlen);
    public static nint sendmsg(int fd, msghdr* msg, int flags) => (nint)(long)LibC.sendmsg(fd, msg, flags);
    public static nint recvmsg(int fd, msghdr* msg, int flags) => (nint)(long)LibC.recvmsg(fd, msg, flags);
    public static int shutdown(int fd, int how) => LibC.shutdown(fd, how);
    public static int setsockopt(int fd, int level, int name, byte* val, int len) => LibC.setsockopt(fd, level, name, val, len);
    public static int getsockopt(int fd, int level, int name, byte* val, int* len) => LibC.getsockopt(fd, level, name, val, (socklen_t*)len);
}
