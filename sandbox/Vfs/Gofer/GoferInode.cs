using RunscNet.Gofer;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Host;

namespace RunscNet.Sentry.Vfs.Gofer;

/// <summary>
/// A file of the container served by the gofer, named by a gofer handle. Attributes are cached
/// for path walks and refreshed by stat; regular files open with a donated host fd, so reads,
/// writes and mmap need no round trip. Symlink targets are cached (they never change in place).
/// </summary>
public sealed class GoferInode : Inode
{
    private readonly object _lock = new();
    private readonly ulong _handle;
    private GoferStat _stat;
    private string? _target;

    /// <summary>Wraps gofer handle <paramref name="handle"/> with attributes <paramref name="stat"/>.</summary>
    public GoferInode(GoferFileSystem fs, ulong handle, GoferStat stat) : base(fs, stat.Ino)
    {
        _handle = handle;
        _stat = stat;
    }

    private GoferClient Client => ((GoferFileSystem)FileSystem).Client;

    /// <summary>The gofer handle.</summary>
    public ulong Handle => _handle;

    private static InodeAttr ToAttr(in GoferStat s) => new()
    {
        Mode = s.Mode, Uid = s.Uid, Gid = s.Gid, Nlink = s.Nlink, Ino = s.Ino, Dev = s.Dev, Rdev = s.Rdev,
        Size = s.Size, Blocks = s.Blocks, BlockSize = (int)(s.BlkSize == 0 ? 4096 : s.BlkSize),
        AtimeNs = s.AtimeSec * 1_000_000_000 + s.AtimeNsec,
        MtimeNs = s.MtimeSec * 1_000_000_000 + s.MtimeNsec,
        CtimeNs = s.CtimeSec * 1_000_000_000 + s.CtimeNsec,
    };

    /// <inheritdoc/>
    public override InodeAttr Attr
    {
        get { lock (_lock) return ToAttr(_stat); }
    }

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        int err = Client.Stat(_handle, out var st);
        if (err == 0) lock (_lock) _stat = st;
        attr = Attr;
        return err;
    }

    private void Refresh()
    {
        if (Client.Stat(_handle, out var st) == 0) lock (_lock) _stat = st;
    }

    /// <inheritdoc/>
    public override int SetAttr(in SetAttrRequest r)
    {
        var g = new GoferSetAttr();
        if ((r.Mask & SetAttrMask.Mode) != 0) { g.Mask |= GoferSetAttr.SetMode; g.Mode = r.Mode & LinuxMode.PermMask; }
        if ((r.Mask & SetAttrMask.Uid) != 0) { g.Mask |= GoferSetAttr.SetUid; g.Uid = r.Uid; }
        if ((r.Mask & SetAttrMask.Gid) != 0) { g.Mask |= GoferSetAttr.SetGid; g.Gid = r.Gid; }
        if ((r.Mask & SetAttrMask.Size) != 0) { g.Mask |= GoferSetAttr.SetSize; g.Size = r.Size; }
        bool atime = (r.Mask & (SetAttrMask.Atime | SetAttrMask.AtimeNow)) != 0;
        bool mtime = (r.Mask & (SetAttrMask.Mtime | SetAttrMask.MtimeNow)) != 0;
        if (atime || mtime)
        {
            g.Mask |= GoferSetAttr.SetAtime | GoferSetAttr.SetMtime;
            SetTime(r.Mask, SetAttrMask.Atime, SetAttrMask.AtimeNow, r.AtimeNs, out g.AtimeSec, out g.AtimeNsec);
            SetTime(r.Mask, SetAttrMask.Mtime, SetAttrMask.MtimeNow, r.MtimeNs, out g.MtimeSec, out g.MtimeNsec);
        }
        if (g.Mask == 0) return 0;
        int err = Client.SetAttr(_handle, g);
        Refresh();
        return err;
    }

    private static void SetTime(SetAttrMask mask, SetAttrMask explicitBit, SetAttrMask nowBit, long ns, out long sec, out long nsec)
    {
        if ((mask & nowBit) != 0) { sec = 0; nsec = GoferSetAttr.UtimeNow; }
        else if ((mask & explicitBit) != 0) { sec = Math.DivRem(ns, 1_000_000_000, out nsec); if (nsec < 0) { sec--; nsec += 1_000_000_000; } }
        else { sec = 0; nsec = GoferSetAttr.UtimeOmit; }
    }

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = null;
        if (!IsDirectory) return -Errno.ENOTDIR;
        int err = Client.Walk(_handle, name, out ulong h, out var st);
        if (err != 0) return err;
        child = new GoferInode((GoferFileSystem)FileSystem, h, st);
        return 0;
    }

    /// <inheritdoc/>
    public override int Create(Task task, string name, uint mode, int openFlags, out Inode? child, out FileDescription? file)
    {
        child = null;
        file = null;
        GidFor(task, out uint gid);
        int goferFlags = openFlags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND);
        int err = Client.Create(_handle, name, goferFlags, mode & LinuxMode.PermMask, task.Credentials.Fsuid, gid, out ulong h, out var st, out int fd);
        if (err != 0) return err;
        var inode = new GoferInode((GoferFileSystem)FileSystem, h, st);
        child = inode;
        file = inode.WrapFd(fd, openFlags);
        Refresh();
        return 0;
    }

    private void GidFor(Task? task, out uint gid)
    {
        gid = task?.Credentials.Fsgid ?? 0;
        if ((Attr.Mode & LinuxMode.S_ISGID) != 0) gid = Attr.Gid;
    }

    /// <inheritdoc/>
    public override int Mkdir(Task task, string name, uint mode, out Inode? child)
    {
        child = null;
        GidFor(task, out uint gid);
        if ((Attr.Mode & LinuxMode.S_ISGID) != 0) mode |= LinuxMode.S_ISGID;
        // A null task is the boot code creating a mount point (as root).
        Task? creator = task;
        int err = Client.Mkdir(_handle, name, mode & LinuxMode.PermMask, creator?.Credentials.Fsuid ?? 0, gid, out ulong h, out var st);
        if (err != 0) return err;
        child = new GoferInode((GoferFileSystem)FileSystem, h, st);
        Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int Mknod(Task task, string name, uint mode, ulong rdev, out Inode? child)
    {
        child = null;
        GidFor(task, out uint gid);
        int err = Client.Mknod(_handle, name, mode, rdev, task.Credentials.Fsuid, gid, out ulong h, out var st);
        if (err != 0) return err;
        child = new GoferInode((GoferFileSystem)FileSystem, h, st);
        Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int Symlink(Task task, string name, string target, out Inode? child)
    {
        child = null;
        GidFor(task, out uint gid);
        int err = Client.Symlink(_handle, name, target, task.Credentials.Fsuid, gid, out ulong h, out var st);
        if (err != 0) return err;
        child = new GoferInode((GoferFileSystem)FileSystem, h, st) { _target = target };
        Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int Link(Task task, string name, Inode target)
    {
        if (target is not GoferInode t || t.FileSystem != FileSystem) return -Errno.EXDEV;
        int err = Client.Link(_handle, name, t._handle, out var st);
        if (err != 0) return err;
        lock (t._lock) t._stat = st;
        Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int Unlink(Task task, string name, Inode child)
    {
        int err = Client.Unlink(_handle, name, false);
        if (err != 0) return err;
        ((GoferInode)child).Refresh();
        Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int Rmdir(Task task, string name, Inode child)
    {
        int err = Client.Unlink(_handle, name, true);
        if (err != 0) return err;
        Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int Rename(Task task, string oldName, Inode child, Inode newDir, string newName, Inode? replaced)
    {
        if (newDir is not GoferInode nd || nd.FileSystem != FileSystem) return -Errno.EXDEV;
        int err = Client.Rename(_handle, oldName, nd._handle, newName, 0);
        if (err != 0) return err;
        Refresh();
        if (nd != this) nd.Refresh();
        return 0;
    }

    /// <inheritdoc/>
    public override int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        if (!IsDirectory) return -Errno.ENOTDIR;
        int err = Client.GetDents(_handle, out var list);
        if (err != 0) return err;
        foreach (var e in list) entries.Add(new DirEntry(e.Name, e.Ino, e.Type));
        return 0;
    }

    /// <inheritdoc/>
    public override int Readlink(Task task, out string target)
    {
        target = "";
        if (!IsSymlink) return -Errno.EINVAL;
        lock (_lock)
        {
            if (_target != null) { target = _target; return 0; }
        }
        int err = Client.Readlink(_handle, out target);
        if (err == 0) lock (_lock) _target = target;
        return err;
    }

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        switch (Mode & LinuxMode.S_IFMT)
        {
            case LinuxMode.S_IFREG:
                {
                    // The host fd has the application's access mode, so mmap permissions match Linux's.
                    int hostFlags = flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_DIRECT | OpenFlags.O_SYNC | OpenFlags.O_DSYNC);
                    int err = Client.Open(_handle, hostFlags, out int fd);
                    if (err != 0) return err;
                    file = WrapFd(fd, flags);
                    return 0;
                }
            case LinuxMode.S_IFCHR:
                return DeviceRegistry.Open(task, Attr.Rdev, flags, out file);
            case LinuxMode.S_IFIFO:
                {
                    int err = Client.Open(_handle, flags & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK), out int fd);
                    if (err != 0) return err;
                    var f = HostFileDescription.FromHostFd(fd);
                    f.StatusFlags = flags;
                    file = f;
                    return 0;
                }
            default:
                return -Errno.ENXIO;
        }
    }

    private FileDescription WrapFd(int fd, int flags)
    {
        var f = new HostRegularFile(fd, ownsFd: true, flags);
        return f;
    }

    /// <inheritdoc/>
    public override int StatFs(out StatFsInfo info)
    {
        int err = Client.StatFs(_handle, out var s);
        info = new StatFsInfo
        {
            Type = s.Type, BlockSize = s.BlockSize, Blocks = (long)s.Blocks, BlocksFree = (long)s.BlocksFree,
            BlocksAvailable = (long)s.BlocksAvailable, Files = (long)s.Files, FilesFree = (long)s.FilesFree,
            NameLength = s.NameLength, FragmentSize = s.FragmentSize, Flags = s.Flags,
        };
        return err;
    }

    /// <inheritdoc/>
    public override int GetXattr(string name, out byte[] value) => Client.GetXattr(_handle, name, out value);

    /// <inheritdoc/>
    public override int SetXattr(string name, ReadOnlySpan<byte> value, int flags) => Client.SetXattr(_handle, name, value.ToArray(), flags);

    /// <inheritdoc/>
    public override int ListXattr(out List<string> names) => Client.ListXattr(_handle, out names);

    /// <inheritdoc/>
    public override int RemoveXattr(string name) => Client.RemoveXattr(_handle, name);
}
