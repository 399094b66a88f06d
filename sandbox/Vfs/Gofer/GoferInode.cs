using RunscNet.Gofer;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Host;

namespace RunscNet.Sentry.Vfs.Gofer;

/// <summary>
/// A file of the container served by the gofer, named by a gofer handle. Attributes are cached
/// and trusted until the Sentry itself changes the file (<see cref="GoferChangeTracker"/>); a file
/// the Sentry holds open for writing is stat'ed through its host fd. Regular files open with a
/// donated host fd, so reads, writes and mmap need no round trip; the first read-only open keeps
/// its fd and later read-only opens get a duplicate of it (no round trip). Symlink targets are
/// cached (they never change in place). The handle goes back to the gofer when the dentry cache
/// evicts the inode's last dentry (<see cref="Evicted"/>).
/// </summary>
internal sealed class GoferInode : Inode
{
    /// <summary>At most this many read-only host fds are kept open for re-opening.</summary>
    private const int MaxCachedReadFds = 256;
    private static int s_cachedReadFds;

    private readonly object _lock = new();
    private readonly ulong _handle;
    private readonly GoferClient _client;
    private GoferStat _stat;
    private long _statStamp;
    private string? _target;
    private int _readFd = -1;

    /// <summary>
    /// Wraps gofer handle <paramref name="handle"/> with attributes <paramref name="stat"/>, fetched
    /// after <see cref="GoferChangeTracker.Now"/> was <paramref name="stamp"/>.
    /// </summary>
    public GoferInode(GoferFileSystem fs, ulong handle, GoferStat stat, long stamp) : base(fs, stat.Ino)
    {
        _handle = handle;
        _client = fs.Client;
        _stat = stat;
        _statStamp = stamp;
    }

    private int _released;

    /// <summary>
    /// Evicted from the dentry cache (or lost a lookup race): gives the handle back to the gofer
    /// with an explicit Release (queued, sent in batches of <see cref="GoferClient.ReleaseBatch"/>
    /// before a later request) and closes a kept read-only fd. The inode must not be used afterwards.
    /// </summary>
    public override void Evicted()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        GC.SuppressFinalize(this);
        DropReadFd();
        _client.ReleaseLater(_handle);
    }

    /// <summary>
    /// Backstop for inodes that never had an evicting dentry (the lower layer of --overlay=memory
    /// holds gofer inodes directly): their handle goes back when they are collected.
    /// </summary>
    ~GoferInode()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        int fd = Interlocked.Exchange(ref _readFd, -1);
        if (fd >= 0)
        {
            FileDescriptor.Close(fd);
            Interlocked.Decrement(ref s_cachedReadFds);
        }
        _client.ReleaseLater(_handle);
    }

    private GoferClient Client => _client;

    private static GoferChangeTracker Changes => GoferChangeTracker.Shared;

    /// <summary>
    /// Asks the gofer to connect a new host socket of <paramref name="type"/> to this socket file
    /// (--host-uds open). Returns 0 and the connected host fd (ours), or the gofer's -errno.
    /// </summary>
    public int ConnectHostSocket(int type, out int hostFd) => Client.ConnectSocket(_handle, type, out hostFd);

    /// <summary>The gofer handle.</summary>
    public ulong Handle => _handle;

    private static InodeAttr ToAttr(in GoferStat s) => new()
    {
        Mode = s.Mode, Uid = Kernel.UserNamespace.Current.UidFromHost(s.Uid), Gid = Kernel.UserNamespace.Current.GidFromHost(s.Gid), Nlink = s.Nlink, Ino = s.Ino, Dev = s.Dev, Rdev = s.Rdev,
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
        GoferStat cached;
        long stamp;
        lock (_lock)
        {
            cached = _stat;
            stamp = _statStamp;
        }
        long changed = Changes.LastChange(cached.Dev, cached.Ino, out var writer);
        if (writer != null && writer.HostStat(out var host) == 0 && host.Dev == cached.Dev && host.Ino == cached.Ino)
        {
            // Open for writing: size and times move with every write; the host fd has them.
            cached.Mode = host.Mode; cached.Uid = host.Uid; cached.Gid = host.Gid; cached.Nlink = host.Nlink;
            cached.Size = host.Size; cached.Blocks = host.Blocks;
            cached.AtimeSec = host.AtimeSec; cached.AtimeNsec = host.AtimeNsec;
            cached.MtimeSec = host.MtimeSec; cached.MtimeNsec = host.MtimeNsec;
            cached.CtimeSec = host.CtimeSec; cached.CtimeNsec = host.CtimeNsec;
            lock (_lock) _stat = cached;
            attr = ToAttr(cached);
            return 0;
        }
        if (changed <= stamp)
        {
            attr = ToAttr(cached);
            return 0;
        }
        int err = Refresh();
        attr = Attr;
        return err;
    }

    /// <summary>Fetches the attributes from the gofer (one round trip).</summary>
    private int Refresh()
    {
        long now = Changes.Now;
        int err = Client.Stat(_handle, out var st);
        if (err == 0)
        {
            lock (_lock)
            {
                _stat = st;
                _statStamp = now;
            }
        }
        return err;
    }

    /// <summary>Marks this file changed by the Sentry (its cached attributes, and those of its other names, are stale).</summary>
    private void MarkChanged()
    {
        GoferStat s;
        lock (_lock) s = _stat;
        Changes.Changed(s.Dev, s.Ino);
    }

    /// <summary>Closes the kept read-only fd (the name is gone: do not pin the file's space).</summary>
    private void DropReadFd()
    {
        int fd = Interlocked.Exchange(ref _readFd, -1);
        if (fd < 0) return;
        FileDescriptor.Close(fd);
        Interlocked.Decrement(ref s_cachedReadFds);
    }

    private GoferInode NewChild(ulong handle, in GoferStat stat, long stamp) => new((GoferFileSystem)FileSystem, handle, stat, stamp);

    /// <inheritdoc/>
    public override int SetAttr(in SetAttrRequest r)
    {
        var g = new GoferSetAttr();
        if ((r.Mask & SetAttrMask.Mode) != 0) { g.Mask |= GoferSetAttr.SetMode; g.Mode = r.Mode & LinuxMode.PermMask; }
        if ((r.Mask & SetAttrMask.Uid) != 0) { g.Mask |= GoferSetAttr.SetUid; g.Uid = Kernel.UserNamespace.Current.UidToHost(r.Uid); }
        if ((r.Mask & SetAttrMask.Gid) != 0) { g.Mask |= GoferSetAttr.SetGid; g.Gid = Kernel.UserNamespace.Current.GidToHost(r.Gid); }
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
        MarkChanged();
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
        long now = Changes.Now;
        int err = Client.Walk(_handle, name, out ulong h, out var st);
        if (err != 0) return err;
        child = NewChild(h, st, now);
        return 0;
    }

    /// <inheritdoc/>
    public override int LookupMany(IReadOnlyList<string> names, List<Inode> found)
    {
        if (!IsDirectory) return -Errno.ENOTDIR;
        long now = Changes.Now;
        int err = Client.WalkMany(_handle, names, out var steps);
        foreach (var step in steps) found.Add(NewChild(step.Handle, step.Stat, now));
        return err;
    }

    /// <inheritdoc/>
    public override int Create(Task task, string name, uint mode, int openFlags, out Inode? child, out FileDescription? file)
    {
        child = null;
        file = null;
        GidFor(task, out uint gid);
        int goferFlags = openFlags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND);
        long now = Changes.Now;
        int err = Client.Create(_handle, name, goferFlags, mode & LinuxMode.PermMask, HostUid(task.Credentials.Fsuid), HostGid(gid), out ulong h, out var st, out int fd);
        if (err != 0) return err;
        var inode = NewChild(h, st, now);
        child = inode;
        file = inode.WrapFd(fd, openFlags);
        MarkChanged();
        return 0;
    }

    // Owners of new files go to the gofer as host ids (the container's through the user namespace).
    private static uint HostUid(uint uid) => Kernel.UserNamespace.Current.UidToHost(uid);
    private static uint HostGid(uint gid) => Kernel.UserNamespace.Current.GidToHost(gid);

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
        long now = Changes.Now;
        int err = Client.Mkdir(_handle, name, mode & LinuxMode.PermMask, HostUid(creator?.Credentials.Fsuid ?? 0), HostGid(gid), out ulong h, out var st);
        if (err != 0) return err;
        child = NewChild(h, st, now);
        MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Mknod(Task task, string name, uint mode, ulong rdev, out Inode? child)
    {
        child = null;
        GidFor(task, out uint gid);
        long now = Changes.Now;
        int err = Client.Mknod(_handle, name, mode, rdev, HostUid(task.Credentials.Fsuid), HostGid(gid), out ulong h, out var st);
        if (err != 0) return err;
        child = NewChild(h, st, now);
        MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Symlink(Task task, string name, string target, out Inode? child)
    {
        child = null;
        GidFor(task, out uint gid);
        long now = Changes.Now;
        int err = Client.Symlink(_handle, name, target, HostUid(task.Credentials.Fsuid), HostGid(gid), out ulong h, out var st);
        if (err != 0) return err;
        var link = NewChild(h, st, now);
        link._target = target;
        child = link;
        MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Link(Task task, string name, Inode target)
    {
        if (target is not GoferInode t || t.FileSystem != FileSystem) return -Errno.EXDEV;
        int err = Client.Link(_handle, name, t._handle, out var st);
        if (err != 0) return err;
        t.MarkChanged();
        long now = Changes.Now;
        lock (t._lock)
        {
            t._stat = st;
            t._statStamp = now;
        }
        MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Unlink(Task task, string name, Inode child)
    {
        int err = Client.Unlink(_handle, name, false);
        if (err != 0) return err;
        var c = (GoferInode)child;
        c.MarkChanged();
        c.DropReadFd();
        MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Rmdir(Task task, string name, Inode child)
    {
        int err = Client.Unlink(_handle, name, true);
        if (err != 0) return err;
        ((GoferInode)child).MarkChanged();
        MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Rename(Task task, string oldName, Inode child, Inode newDir, string newName, Inode? replaced)
    {
        if (newDir is not GoferInode nd || nd.FileSystem != FileSystem) return -Errno.EXDEV;
        int err = Client.Rename(_handle, oldName, nd._handle, newName, 0);
        if (err != 0) return err;
        ((GoferInode)child).MarkChanged();
        if (replaced is GoferInode r)
        {
            r.MarkChanged();
            r.DropReadFd();
        }
        MarkChanged();
        if (nd != this) nd.MarkChanged();
        return 0;
    }

    /// <inheritdoc/>
    public override int Exchange(Task task, string oldName, Inode child, Inode newDir, string newName, Inode other)
    {
        if (newDir is not GoferInode nd || nd.FileSystem != FileSystem) return -Errno.EXDEV;
        int err = Client.Rename(_handle, oldName, nd._handle, newName, 2 /* RENAME_EXCHANGE */);
        if (err != 0) return err;
        ((GoferInode)child).MarkChanged();
        ((GoferInode)other).MarkChanged();
        MarkChanged();
        if (nd != this) nd.MarkChanged();
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
                    if (hostFlags == OpenFlags.O_RDONLY && DupReadFd() is int copy and >= 0)
                    {
                        file = WrapFd(copy, flags);
                        return 0;
                    }
                    int err = Client.Open(_handle, hostFlags, out int fd);
                    if (err != 0) return err;
                    if (hostFlags == OpenFlags.O_RDONLY) KeepReadFd(fd);
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

    /// <summary>
    /// A duplicate of the kept read-only fd (reads are positioned, so open files may share the
    /// host description), or -1 when none is kept.
    /// </summary>
    private int DupReadFd()
    {
        lock (_lock)
        {
            return _readFd >= 0 ? Fcntl.Dup(_readFd) : -1;
        }
    }

    /// <summary>Keeps a duplicate of the read-only <paramref name="fd"/> for later opens, while the budget allows.</summary>
    private void KeepReadFd(int fd)
    {
        if (Interlocked.Increment(ref s_cachedReadFds) > MaxCachedReadFds)
        {
            Interlocked.Decrement(ref s_cachedReadFds);
            return;
        }
        int copy = Fcntl.Dup(fd);
        lock (_lock)
        {
            if (copy >= 0 && _readFd < 0)
            {
                _readFd = copy;
                return;
            }
        }
        if (copy >= 0) FileDescriptor.Close(copy);
        Interlocked.Decrement(ref s_cachedReadFds);
    }

    private FileDescription WrapFd(int fd, int flags)
    {
        var f = new HostRegularFile(fd, ownsFd: true, flags);
        if ((flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY)
        {
            GoferStat s;
            lock (_lock) s = _stat;
            Changes.AddWriter(s.Dev, s.Ino, f);
            f.Released = () => Changes.RemoveWriter(s.Dev, s.Ino, f);
        }
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
    public override int SetXattr(string name, ReadOnlySpan<byte> value, int flags)
    {
        int err = Client.SetXattr(_handle, name, value.ToArray(), flags);
        if (err == 0) MarkChanged();
        return err;
    }

    /// <inheritdoc/>
    public override int ListXattr(out List<string> names) => Client.ListXattr(_handle, out names);

    /// <inheritdoc/>
    public override int RemoveXattr(string name)
    {
        int err = Client.RemoveXattr(_handle, name);
        if (err == 0) MarkChanged();
        return err;
    }
}
