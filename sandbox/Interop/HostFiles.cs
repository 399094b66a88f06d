using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>
/// libc file calls the Sentry makes on host fds it holds (donated gofer fds, memfds backing
/// tmpfs files, the container's stdio). Each returns -1 and sets errno on failure; use
/// <see cref="Marshal.GetLastPInvokeError"/> (or <see cref="Neg"/>) right after the call.
/// </summary>
internal static unsafe partial class HostFiles
{
    [LibraryImport("libc", SetLastError = true)] public static partial nint read(int fd, byte* buf, nint count);
    [LibraryImport("libc", SetLastError = true)] public static partial nint write(int fd, byte* buf, nint count);
    [LibraryImport("libc", SetLastError = true)] public static partial nint pread(int fd, byte* buf, nint count, long offset);
    [LibraryImport("libc", SetLastError = true)] public static partial nint pwrite(int fd, byte* buf, nint count, long offset);
    [LibraryImport("libc", SetLastError = true)] public static partial int dup(int fd);
    [LibraryImport("libc", SetLastError = true)] public static partial int fstat(int fd, LinuxStatBuffer* st);
    [LibraryImport("libc", SetLastError = true)] public static partial int ftruncate(int fd, long length);
    [LibraryImport("libc", SetLastError = true)] public static partial int fsync(int fd);
    [LibraryImport("libc", SetLastError = true)] public static partial int fchmod(int fd, uint mode);
    [LibraryImport("libc", SetLastError = true)] public static partial int fchown(int fd, uint uid, uint gid);
    [LibraryImport("libc", SetLastError = true)] public static partial int fdatasync(int fd);
    [LibraryImport("libc", SetLastError = true)] public static partial int fallocate(int fd, int mode, long offset, long len);
    [LibraryImport("libc", SetLastError = true)] public static partial long lseek(int fd, long offset, int whence);
    [LibraryImport("libc", SetLastError = true)] public static partial int ioctl(int fd, ulong request, void* arg);
    [LibraryImport("libc", SetLastError = true)] public static partial int fcntl(int fd, int cmd, int arg);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int openat(int dirfd, string path, int flags, uint mode);
    [LibraryImport("libc", SetLastError = true, EntryPoint = "ioctl")] public static partial int ioctlInt(int fd, ulong request, nint arg);
    [LibraryImport("libc", SetLastError = true)] public static partial int poll(PollFd* fds, ulong nfds, int timeout);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int memfd_create(string name, uint flags);
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

/// <summary>struct pollfd.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}

/// <summary>struct epoll_event (packed on x86-64).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEvent
{
    public uint Events;
    public ulong Data;
}

/// <summary>The host's x86-64 struct stat (144 bytes), the same layout the application sees.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LinuxStatBuffer
{
    public ulong Dev;
    public ulong Ino;
    public ulong Nlink;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public int Pad0;
    public ulong Rdev;
    public long Size;
    public long Blksize;
    public long Blocks;
    public long AtimeSec;
    public long AtimeNsec;
    public long MtimeSec;
    public long MtimeNsec;
    public long CtimeSec;
    public long CtimeNsec;
    public long Reserved0, Reserved1, Reserved2;
}
