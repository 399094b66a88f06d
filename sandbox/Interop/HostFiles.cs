using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Sentry.Interop;

/// <summary>
/// libc file calls the Sentry makes on host fds it holds (donated gofer fds, memfds backing
/// tmpfs files, the container's stdio). Each returns -1 and sets errno on failure; use
/// <see cref="Marshal.GetLastPInvokeError"/> (or <see cref="Neg"/>) right after the call.
/// </summary>
internal static unsafe partial class HostFiles
{
    public static nint read(int fd, byte* buf, nint count) => (nint)(long)LibC.read(fd, buf, (size_t)(ulong)count);
    public static nint write(int fd, byte* buf, nint count) => (nint)(long)LibC.write(fd, buf, (size_t)(ulong)count);
    public static nint pread(int fd, byte* buf, nint count, long offset) => (nint)(long)LibC.pread(fd, buf, (size_t)(ulong)count, offset);
    public static nint pwrite(int fd, byte* buf, nint count, long offset) => (nint)(long)LibC.pwrite(fd, buf, (size_t)(ulong)count, offset);
    [LibraryImport("libc", SetLastError = true)] public static partial int dup(int fd);
    public static int fstat(int fd, LinuxStat* st) => LibcCalls.Fstat(fd, st);
    public static int ftruncate(int fd, long length) => LibC.ftruncate(fd, length);
    public static int fsync(int fd) => LibC.fsync(fd);
    [LibraryImport("libc", SetLastError = true)] public static partial int fchmod(int fd, uint mode);
    [LibraryImport("libc", SetLastError = true)] public static partial int fchown(int fd, uint uid, uint gid);
    [LibraryImport("libc", SetLastError = true)] public static partial int fdatasync(int fd);
    [LibraryImport("libc", SetLastError = true)] public static partial int fallocate(int fd, int mode, long offset, long len);
    public static long lseek(int fd, long offset, int whence) => LibC.lseek(fd, offset, whence);
    public static int ioctl(int fd, ulong request, void* arg) => LibcCalls.Ioctl(fd, request, arg);
    public static int fcntl(int fd, int cmd, int arg) => LibC.fcntl(fd, cmd, arg);
    public static int openat(int dirfd, string path, int flags, uint mode) => LibcCalls.OpenAt(dirfd, path, flags, mode);
    public static int ioctlInt(int fd, ulong request, nint arg) => LibcCalls.Ioctl(fd, request, (void*)arg);
    public static int poll(pollfd* fds, ulong nfds, int timeout) => LibC.poll(fds, (ulong_t)nfds, timeout);
    public static int memfd_create(string name, uint flags) => LibcCalls.MemfdCreate(name, flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);
    [LibraryImport("libc", SetLastError = true)] public static partial int eventfd(uint initval, int flags);

    /// <summary>The last host errno as a negative value, for returning from a handler.</summary>
    public static int Neg() => -Marshal.GetLastPInvokeError();

    /// <summary>Runs a call that returns -1/errno, retrying on EINTR.</summary>
    public static long Retry(Func<long> call)
    {
        while (true)
        {
            long r = call();
            if (r >= 0) return r;
            int e = Marshal.GetLastPInvokeError();
            if (e != 4) return -e;
        }
    }
}

/// <summary>struct epoll_event (packed on x86-64).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEvent
{
    public uint Events;
    public ulong Data;
}

