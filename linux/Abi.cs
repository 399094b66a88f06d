namespace RunscNet.LinuxInterop;

// The Linux ABI's constants (x86-64 values) every assembly shares: consts, unlike Tmds.LibC's
// properties, so they can label a switch and build other consts.

/// <summary>open(2) flags (x86-64 values).</summary>
public static class OpenFlags
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3;
    public const int O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400,
        O_NONBLOCK = 0x800, O_DSYNC = 0x1000, O_ASYNC = 0x2000, O_DIRECT = 0x4000, O_LARGEFILE = 0x8000,
        O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_NOATIME = 0x40000, O_CLOEXEC = 0x80000,
        O_SYNC = 0x101000, O_PATH = 0x200000, O_TMPFILE = 0x410000;

    /// <summary>Flags F_SETFL may change.</summary>
    public const int SettableStatusFlags = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

    /// <summary>True if the access mode allows reading.</summary>
    public static bool CanRead(int flags) => (flags & O_PATH) == 0 && (flags & O_ACCMODE) != O_WRONLY;

    /// <summary>True if the access mode allows writing.</summary>
    public static bool CanWrite(int flags) => (flags & O_PATH) == 0 && (flags & O_ACCMODE) is O_WRONLY or O_RDWR;
}

/// <summary>File type and permission bits of st_mode (sys/stat.h).</summary>
public static class LinuxMode
{
    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;
    public const uint S_ISUID = 0x800, S_ISGID = 0x400, S_ISVTX = 0x200;
    /// <summary>Permission bits plus setuid/setgid/sticky.</summary>
    public const uint PermMask = 0xFFF;

    public static bool IsDir(uint mode) => (mode & S_IFMT) == S_IFDIR;
    public static bool IsReg(uint mode) => (mode & S_IFMT) == S_IFREG;
    public static bool IsLink(uint mode) => (mode & S_IFMT) == S_IFLNK;
    public static bool IsChr(uint mode) => (mode & S_IFMT) == S_IFCHR;

    /// <summary>The d_type of getdents64 for a mode.</summary>
    public static byte DirentType(uint mode) => (mode & S_IFMT) switch
    {
        S_IFIFO => 1, S_IFCHR => 2, S_IFDIR => 4, S_IFBLK => 6, S_IFREG => 8, S_IFLNK => 10, S_IFSOCK => 12, _ => 0,
    };
}

/// <summary>Miscellaneous path constants (fcntl.h, limits.h).</summary>
public static class PathConsts
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400,
        AT_NO_AUTOMOUNT = 0x800, AT_EMPTY_PATH = 0x1000, AT_EACCESS = 0x200, AT_STATX_SYNC_AS_STAT = 0;
    public const int PATH_MAX = 4096, NAME_MAX = 255;
    /// <summary>Maximum symlinks followed in one walk (ELOOP beyond).</summary>
    public const int MaxSymlinks = 40;
}

/// <summary>poll(2) event bits.</summary>
public static class PollEvents
{
    public const short POLLIN = 1, POLLPRI = 2, POLLOUT = 4, POLLERR = 8, POLLHUP = 0x10, POLLNVAL = 0x20,
        POLLRDNORM = 0x40, POLLRDBAND = 0x80, POLLWRNORM = 0x100, POLLWRBAND = 0x200, POLLRDHUP = 0x2000;
}
