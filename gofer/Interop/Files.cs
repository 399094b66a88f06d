using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Gofer.Interop;

/// <summary>struct statx_timestamp.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct StatxTimestamp
{
    public long Seconds;
    public uint Nanoseconds;
    public int Reserved;
}

/// <summary>struct statx (include/uapi/linux/stat.h); the same layout on every architecture.</summary>
[StructLayout(LayoutKind.Sequential, Size = 256)]
internal struct Statx
{
    public uint Mask;
    public uint BlockSize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
    public ushort Spare0;
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong AttributesMask;
    public StatxTimestamp Atime;
    public StatxTimestamp Btime;
    public StatxTimestamp Ctime;
    public StatxTimestamp Mtime;
    public uint RdevMajor;
    public uint RdevMinor;
    public uint DevMajor;
    public uint DevMinor;
}

/// <summary>struct statfs of 64-bit Linux (every field a long or the fsid pair).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct StatFsBuffer
{
    public long Type;
    public long BlockSize;
    public ulong Blocks;
    public ulong BlocksFree;
    public ulong BlocksAvailable;
    public ulong Files;
    public ulong FilesFree;
    public long Fsid;
    public long NameLength;
    public long FragmentSize;
    public long Flags;
    public long Spare0, Spare1, Spare2, Spare3;
}

/// <summary>
/// File system calls of libc used by the gofer: the <c>*at</c> family relative to held
/// directory fds, statx/fstatfs, getdents64 and extended attributes. Every call returns the
/// libc result; read the errno with <see cref="Marshal.GetLastPInvokeError"/> (see <see cref="Result"/>).
/// </summary>
internal static unsafe partial class Files
{
    public const uint STATX_BASIC_STATS = 0x7FF;
    public const int F_GETFL = 3, F_SETFL = 4;
    public const int SEEK_SET = 0;
    public const long ST_RDONLY = 1;
    public const int RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;
    public const int XATTR_CREATE = 1, XATTR_REPLACE = 2;
    public const long UTIME_NOW = (1L << 30) - 1, UTIME_OMIT = (1L << 30) - 2;

    /// <summary>Turns a libc result into the result or -errno.</summary>
    public static int Result(int r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;

    /// <summary>Turns a libc ssize_t result into the result or -errno.</summary>
    public static long Result(nint r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;

    public static int OpenAt(int dirFd, string path, int flags, uint mode) => LibcCalls.OpenAt(dirFd, path, flags, mode);

    [LibraryImport("libc", EntryPoint = "dup3", SetLastError = true)]
    public static partial int Dup3(int oldFd, int newFd, int flags);

    /// <summary>
    /// poll(2) for POLLIN on <paramref name="fd"/>: true when it is readable (or hung up, or in
    /// error: the next read says which) within <paramref name="timeoutMs"/>, false on time-out.
    /// </summary>
    public static bool WaitReadable(int fd, int timeoutMs)
    {
        var p = new pollfd { fd = fd, events = 1 /* POLLIN */ };
        int r;
        do r = LibC.poll(&p, 1, timeoutMs); while (r < 0 && Marshal.GetLastPInvokeError() == 4 /* EINTR */);
        return r != 0;
    }

    /// <summary>The soft RLIMIT_NOFILE of this process (glibc's getrlimit is prlimit64 on pid 0, which the gofer's filter allows).</summary>
    public static ulong OpenFileLimit()
    {
        ulong* limits = stackalloc ulong[2];
        return LibcCalls.GetRlimit(7 /* RLIMIT_NOFILE */, limits) == 0 ? limits[0] : 1024;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatxAt(int dirFd, string path, int flags, uint mask, Statx* buffer);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    public static partial int FStatFs(int fd, StatFsBuffer* buffer);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(int dirFd, string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mknodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MknodAt(int dirFd, string path, uint mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SymlinkAt(string target, int dirFd, string path);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(int oldDirFd, string oldPath, int newDirFd, string newPath, int flags);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UnlinkAt(int dirFd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint ReadlinkAt(int dirFd, string path, byte* buffer, nuint size);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FChownAt(int dirFd, string path, uint uid, uint gid, int flags);

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FChmodAt(int dirFd, string path, uint mode, int flags);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UtimensAt(int dirFd, string path, Timespec* times, int flags);

    public static int FTruncate(int fd, long length) => LibC.ftruncate(fd, length);

    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint size);

    /// <summary>read(2); -errno on failure.</summary>
    public static long Read(int fd, byte* buffer, nuint count) => Result((nint)(long)LibC.read(fd, buffer, (size_t)(ulong)count));

    public static long LSeek(int fd, long offset, int whence) => LibC.lseek(fd, offset, whence);

    public static int FSync(int fd) => LibC.fsync(fd);

    public static int FControl(int fd, int command, int argument) => LibC.fcntl(fd, command, argument);

    [LibraryImport("libc", EntryPoint = "fchdir", SetLastError = true)]
    public static partial int FChdir(int fd);

    [LibraryImport("libc", EntryPoint = "umask")]
    public static partial uint Umask(uint mask);

    public static nint Write(int fd, byte* buffer, nuint count) => (nint)(long)LibC.write(fd, buffer, (size_t)(ulong)count);
}
