using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Host;

/// <summary>
/// A read-only view of a host file or directory by an O_PATH fd of it (the sandbox's cgroups,
/// the host's /proc/sys): every lookup goes one component below a directory fd with O_NOFOLLOW,
/// so nothing outside the directory the view was made from is reachable; files open read-only
/// (EROFS for writing). Boot takes the fds while it still sees the host's tree.
/// </summary>
public sealed class HostViewInode : Inode
{
    private const int O_PATH = 0x200000, O_NOFOLLOW = 0x20000, O_DIRECTORY = 0x10000, AT_SYMLINK_NOFOLLOW = 0x100;

    // Directory fds by (parent fd, name), reused while the name names the same directory, so
    // repeated lookups hold no more fds than there are host directories seen. Files hold none.
    private static readonly Dictionary<(int, string), (int Fd, ulong Ino)> s_directories = new();

    private readonly int _fd;         // O_PATH fd of a directory; -1 for a file
    private readonly int _parentFd;   // for a file: where it is looked up again
    private readonly string? _name;

    /// <summary>The view of host directory <paramref name="dirFd"/> (an O_PATH fd).</summary>
    public HostViewInode(FileSystem fs, int dirFd) : this(fs, dirFd, -1, null) { }

    private HostViewInode(FileSystem fs, int fd, int parentFd, string? name) : base(fs)
    {
        _fd = fd;
        _parentFd = parentFd;
        _name = name;
        if (HostStat(out var st) == 0) Ino = st.Ino;
    }

    private unsafe int HostStat(out LinuxStatBuffer st)
    {
        fixed (LinuxStatBuffer* p = &st)
        {
            if (_fd >= 0) return HostFiles.fstat(_fd, p) < 0 ? HostFiles.Neg() : 0;
            return StatAt(_parentFd, _name!, p);
        }
    }

    private static unsafe int StatAt(int dirFd, string name, LinuxStatBuffer* st)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = bytes) return (int)RawSyscall.Checked(262 /* newfstatat */, dirFd, (long)n, (long)st, AT_SYMLINK_NOFOLLOW);
    }

    /// <inheritdoc/>
    public override InodeAttr Attr
    {
        get
        {
            if (HostStat(out var st) != 0) return new InodeAttr { Mode = LinuxMode.S_IFREG, Nlink = 1, Ino = Ino, Dev = FileSystem.DeviceId };
            var attr = InodeAttr.FromHost(st);
            attr.Dev = FileSystem.DeviceId;   // the view's own device, as a mount of it shows
            attr.Rdev = 0;
            return attr;
        }
    }

    // The host's files come and go (cgroups, per-device sysctls): look them up each time.
    /// <inheritdoc/>
    public override bool CachesLookups => false;

    /// <summary>The O_PATH fd of a directory (-1 for a file).</summary>
    public int PathFd => _fd;

    /// <summary>Keeps an O_PATH fd of host directory <paramref name="path"/> (-1 if it cannot be opened).</summary>
    public static int KeepDirectory(string path) => HostFiles.openat(-100, path, O_PATH | O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);

    /// <summary>A view of entry <paramref name="name"/> of host directory <paramref name="dirFd"/>, or null.</summary>
    public static unsafe HostViewInode? Child(FileSystem fs, int dirFd, string name)
    {
        if (dirFd < 0 || name.Length == 0 || name == "." || name == ".." || name.Contains('/') || name.Contains('\0')) return null;
        LinuxStatBuffer st;
        if (StatAt(dirFd, name, &st) != 0) return null;
        if (!LinuxMode.IsDir(st.Mode)) return new HostViewInode(fs, -1, dirFd, name);
        int fd;
        lock (s_directories)
        {
            if (!s_directories.TryGetValue((dirFd, name), out var known) || known.Ino != st.Ino)
            {
                // A directory replaced under the same name gets a new fd; the old one may still
                // serve a view in use, so it stays open.
                int opened = HostFiles.openat(dirFd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
                if (opened < 0) return null;
                known = (opened, st.Ino);
                s_directories[(dirFd, name)] = known;
            }
            fd = known.Fd;
        }
        return new HostViewInode(fs, fd, dirFd, name);
    }

    /// <summary>The names in host directory <paramref name="dirFd"/> (empty if it cannot be read).</summary>
    public static List<string> Names(int dirFd)
    {
        var entries = new List<DirEntry>();
        if (dirFd >= 0) ReadEntries(dirFd, entries);
        return entries.Select(e => e.Name).ToList();
    }

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = null;
        if (_fd < 0) return -Errno.ENOTDIR;
        child = Child(FileSystem, _fd, name);
        return child == null ? -Errno.ENOENT : 0;
    }

    /// <inheritdoc/>
    public override unsafe int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        if (_fd < 0) return -Errno.ENOTDIR;
        return ReadEntries(_fd, entries);
    }

    private static unsafe int ReadEntries(int pathFd, List<DirEntry> entries)
    {
        int dir = HostFiles.openat(pathFd, ".", OpenFlags.O_RDONLY | O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
        if (dir < 0) return HostFiles.Neg();
        try
        {
            byte[] buf = new byte[8192];
            while (true)
            {
                long n;
                fixed (byte* p = buf) n = RawSyscall.Checked(217 /* getdents64 */, dir, (long)p, buf.Length);
                if (n < 0) return (int)n;
                if (n == 0) return 0;
                for (int off = 0; off < n;)
                {
                    ulong ino = BitConverter.ToUInt64(buf, off);
                    int reclen = BitConverter.ToUInt16(buf, off + 16);
                    byte type = buf[off + 18];
                    int nameEnd = Array.IndexOf(buf, (byte)0, off + 19, reclen - 19);
                    string name = System.Text.Encoding.UTF8.GetString(buf, off + 19, (nameEnd < 0 ? off + reclen : nameEnd) - (off + 19));
                    if (name != "." && name != "..") entries.Add(new DirEntry(name, ino, type));
                    off += reclen;
                }
            }
        }
        finally
        {
            HostFiles.close(dir);
        }
    }

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        if (!LinuxMode.IsReg(Mode)) return -Errno.ENXIO;
        // The view is read-only, whatever the mount says (the sandbox's limits are the runtime's,
        // /proc/sys is read-only under runc).
        if ((flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0) return -Errno.EROFS;
        if (_name == null) return -Errno.ENXIO;
        int fd = HostFiles.openat(_parentFd, _name, OpenFlags.O_RDONLY | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0) return HostFiles.Neg();
        file = new HostRegularFile(fd, ownsFd: true, flags & ~OpenFlags.O_CLOEXEC);
        return 0;
    }

    /// <inheritdoc/>
    public override int StatFs(out StatFsInfo info)
    {
        info = FileSystem.DefaultStatFs();
        return 0;
    }
}
