using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Host;

/// <summary>
/// A read-only view of a directory tree the Sentry reaches by path in its own empty root (the
/// sandbox's cgroups, bind-mounted read-only there by EmptyRoot; /proc/sys of the Sentry's own
/// proc): every lookup adds one validated component (no "/", ".", ".."), stats and opens use
/// O_NOFOLLOW, files open read-only (EROFS for writing). No fd is kept between calls, so the
/// Sentry holds no directory fd for these views (docs/ARCHITECTURE.md lists the fds it holds).
/// </summary>
internal sealed class HostViewInode : Inode
{
    private const int O_NOFOLLOW = 0x20000, O_DIRECTORY = 0x10000, AT_SYMLINK_NOFOLLOW = 0x100, AT_FDCWD = -100;

    private readonly string _path;

    /// <summary>The view of the directory at absolute path <paramref name="path"/> (in the Sentry's own root).</summary>
    public HostViewInode(FileSystem fs, string path) : base(fs)
    {
        _path = path;
        if (HostStat(out var st) == 0) Ino = st.Ino;
    }

    private unsafe int HostStat(out LinuxStat st)
    {
        fixed (LinuxStat* p = &st) return StatAt(_path, p);
    }

    private static unsafe int StatAt(string path, LinuxStat* st)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* n = bytes) return (int)RawSyscall.Checked(262 /* newfstatat */, AT_FDCWD, (long)n, (long)st, AT_SYMLINK_NOFOLLOW);
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

    /// <summary>The view's path in the Sentry's root.</summary>
    public string HostPath => _path;

    /// <summary>A view of entry <paramref name="name"/> of directory <paramref name="dirPath"/>, or null.</summary>
    public static unsafe HostViewInode? Child(FileSystem fs, string? dirPath, string name)
    {
        if (dirPath == null || name.Length == 0 || name == "." || name == ".." || name.Contains('/') || name.Contains('\0')) return null;
        string path = dirPath.TrimEnd('/') + "/" + name;
        LinuxStat st;
        if (StatAt(path, &st) != 0) return null;
        return new HostViewInode(fs, path);
    }

    /// <summary>The names in directory <paramref name="dirPath"/> (empty if it cannot be read).</summary>
    public static List<string> Names(string? dirPath)
    {
        var entries = new List<DirEntry>();
        if (dirPath != null) ReadEntries(dirPath, entries);
        return entries.Select(e => e.Name).ToList();
    }

    private bool IsHostDirectory => HostStat(out var st) == 0 && LinuxMode.IsDir(st.Mode);

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = null;
        if (!IsHostDirectory) return -Errno.ENOTDIR;
        child = Child(FileSystem, _path, name);
        return child == null ? -Errno.ENOENT : 0;
    }

    /// <inheritdoc/>
    public override unsafe int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        if (!IsHostDirectory) return -Errno.ENOTDIR;
        return ReadEntries(_path, entries);
    }

    private static unsafe int ReadEntries(string path, List<DirEntry> entries)
    {
        int dir = HostFiles.openat(AT_FDCWD, path, OpenFlags.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
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
            FileDescriptor.Close(dir);
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
        int fd = HostFiles.openat(AT_FDCWD, _path, OpenFlags.O_RDONLY | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
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
