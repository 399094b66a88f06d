using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Pipe;

namespace RunscNet.Sentry.Vfs.Tmpfs;

/// <summary>
/// A tmpfs file: a directory (children held here), a regular file (data in a host memfd), a
/// symlink, a device node (opened through <see cref="DeviceRegistry"/>), a FIFO or a socket.
/// </summary>
internal sealed partial class TmpfsInode : Inode
{
    private readonly object _lock = new();
    private InodeAttr _attr;
    private readonly Dictionary<string, TmpfsInode>? _children;
    // When each child was added (a counter): getdents lists the newest first, as Linux's tmpfs.
    private readonly Dictionary<string, long>? _childOrder;
    private long _nextChildOrder;
    private readonly Dictionary<string, byte[]> _xattrs = new();
    private string _target = "";
    private int _memfd = -1;
    private int _readOnlyMemfd = -1;
    private int _openCount;
    private long _dataMtimeSeen = -1;
    private NamedPipe? _fifo;

    /// <summary>Creates a file of type and mode <paramref name="mode"/>.</summary>
    public TmpfsInode(FileSystem fs, uint mode, uint uid, uint gid, ulong rdev = 0) : base(fs)
    {
        long now = FileSystem.NowNs();
        _attr = new InodeAttr
        {
            Mode = mode, Uid = uid, Gid = gid, Nlink = LinuxMode.IsDir(mode) ? 2UL : 1UL, Ino = Ino,
            Dev = fs.DeviceId, Rdev = rdev, BlockSize = 4096, AtimeNs = now, MtimeNs = now, CtimeNs = now,
        };
        if (LinuxMode.IsDir(mode))
        {
            _children = new Dictionary<string, TmpfsInode>();
            _childOrder = new Dictionary<string, long>();
        }
    }

    /// <inheritdoc/>
    public override InodeAttr Attr
    {
        get { lock (_lock) return _attr; }
    }

    /// <summary>The memfd holding a regular file's data (created on first use).</summary>
    public int DataFd
    {
        get
        {
            lock (_lock)
            {
                if (_memfd < 0)
                {
                    // Sealable, so that the seals memfd_create(2)'s files take are the host's to enforce
                    // (TmpfsInode.Seals.cs); the Sentry adds none unless the application asks.
                    _memfd = HostFiles.memfd_create("tmpfs", 1 | 2 /* MFD_CLOEXEC | MFD_ALLOW_SEALING */);
                    if (_memfd < 0) throw new IOException($"memfd_create failed: {HostFiles.Neg()}");
                    Space?.Track(_memfd);
                }
                return _memfd;
            }
        }
    }

    /// <summary>
    /// A read-only fd of the data memfd (opened once through the Sentry's own /proc/self/fd), what
    /// the stubs get for mappings of read-only descriptions; -1 when it cannot be had.
    /// </summary>
    private int ReadOnlyDataFd()
    {
        lock (_lock)
        {
            if (_readOnlyMemfd < 0)
            {
                int fd = DataFd;
                _readOnlyMemfd = HostFiles.openat(-100 /* AT_FDCWD */, $"/proc/self/fd/{fd}", 0x80000 /* O_RDONLY | O_CLOEXEC */, 0);
            }
            return _readOnlyMemfd;
        }
    }

    /// <summary>The size and inode accounting of this file's tmpfs (null for a file system that is not one).</summary>
    private TmpfsSpace? Space => (FileSystem as TmpfsFileSystem)?.Space;

    /// <inheritdoc/>
    public override unsafe int Stat(out InodeAttr attr)
    {
        attr = Attr;
        if (LinuxMode.IsReg(attr.Mode))
        {
            LinuxStat st;
            if (HostFiles.fstat(DataFd, &st) == 0)
            {
                attr.Size = st.Size;
                attr.Blocks = st.Blocks;
                lock (_lock)
                {
                    // The memfd's mtime moves with writes (also through shared mappings): when it
                    // moved since we last looked, the data changed then. An mtime set by utimes
                    // stays until the next write.
                    long m = st.MtimeSec * 1_000_000_000 + st.MtimeNsec;
                    if (m != _dataMtimeSeen)
                    {
                        _dataMtimeSeen = m;
                        _attr.MtimeNs = m;
                        _attr.CtimeNs = Math.Max(_attr.CtimeNs, m);
                    }
                    attr.MtimeNs = _attr.MtimeNs;
                    attr.CtimeNs = _attr.CtimeNs;
                }
            }
        }
        else if (LinuxMode.IsLink(attr.Mode)) attr.Size = _target.Length;
        else if (_children != null)
        {
            // As Linux's tmpfs (shmem): a directory's size is 20 bytes (BOGO_DIRENT_SIZE) per
            // entry, "." and ".." included, and it has no blocks.
            lock (_lock) attr.Size = 20L * (_children.Count + 2);
            attr.Blocks = 0;
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int SetAttr(in SetAttrRequest r)
    {
        if ((r.Mask & SetAttrMask.Size) != 0)
        {
            if (IsDirectory) return -Errno.EISDIR;
            if (!LinuxMode.IsReg(Mode)) return -Errno.EINVAL;
            if (r.Size < 0) return -Errno.EINVAL;
            if (HostFiles.ftruncate(DataFd, r.Size) < 0) return HostFiles.Neg();
        }
        long now = FileSystem.NowNs();
        long dataMtime = -1;
        if (LinuxMode.IsReg(Mode) && (r.Mask & (SetAttrMask.Mtime | SetAttrMask.MtimeNow | SetAttrMask.Size)) != 0)
        {
            // What the memfd says now is not a later write: the times set here win over it.
            unsafe
            {
                LinuxStat st;
                if (HostFiles.fstat(DataFd, &st) == 0) dataMtime = st.MtimeSec * 1_000_000_000 + st.MtimeNsec;
            }
        }
        lock (_lock)
        {
            if (dataMtime >= 0) _dataMtimeSeen = dataMtime;
            // F_SEAL_EXEC: the execute bits stay as they are (shmem_setattr).
            if ((r.Mask & SetAttrMask.Mode) != 0 && (Seals & SealExec) != 0 && ((_attr.Mode ^ r.Mode) & 0x49) != 0)
                return -Errno.EPERM;
            if ((r.Mask & SetAttrMask.Mode) != 0) _attr.Mode = (_attr.Mode & LinuxMode.S_IFMT) | (r.Mode & LinuxMode.PermMask);
            if ((r.Mask & SetAttrMask.Uid) != 0) _attr.Uid = r.Uid;
            if ((r.Mask & SetAttrMask.Gid) != 0) _attr.Gid = r.Gid;
            if ((r.Mask & SetAttrMask.Atime) != 0) _attr.AtimeNs = r.AtimeNs;
            if ((r.Mask & SetAttrMask.AtimeNow) != 0) _attr.AtimeNs = now;
            if ((r.Mask & SetAttrMask.Mtime) != 0) _attr.MtimeNs = r.MtimeNs;
            if ((r.Mask & SetAttrMask.MtimeNow) != 0) _attr.MtimeNs = now;
            if ((r.Mask & SetAttrMask.Size) != 0 && (r.Mask & (SetAttrMask.Mtime | SetAttrMask.MtimeNow)) == 0) _attr.MtimeNs = now;
            _attr.CtimeNs = now;
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = null;
        if (_children == null) return -Errno.ENOTDIR;
        lock (_lock)
        {
            if (!_children.TryGetValue(name, out var c)) return -Errno.ENOENT;
            child = c;
            return 0;
        }
    }

    /// <summary>Adds a new child (boot-time population and every create call). Returns -EEXIST if taken.</summary>
    public int AddChild(string name, TmpfsInode child)
    {
        if (_children == null) return -Errno.ENOTDIR;
        lock (_lock)
        {
            if (_children.ContainsKey(name)) return -Errno.EEXIST;
            _children[name] = child;
            _childOrder![name] = _nextChildOrder++;
            if (child.IsDirectory) _attr.Nlink++;
            _attr.MtimeNs = _attr.CtimeNs = FileSystem.NowNs();
            return 0;
        }
    }

    /// <summary>Creates and adds a child of type/mode <paramref name="mode"/> owned by the task's fs ids.</summary>
    private int NewChild(Task? task, string name, uint mode, ulong rdev, out TmpfsInode child)
    {
        uint uid = task?.Credentials.Fsuid ?? 0;
        uint gid = task?.Credentials.Fsgid ?? 0;
        // A set-group-ID directory passes its group (and, for directories, the bit) on.
        if ((Attr.Mode & LinuxMode.S_ISGID) != 0)
        {
            gid = Attr.Gid;
            if (LinuxMode.IsDir(mode)) mode |= LinuxMode.S_ISGID;
        }
        child = null!;
        int err = Space?.ReserveInode() ?? 0;
        if (err != 0) return err;
        child = new TmpfsInode(FileSystem, mode, uid, gid, rdev);
        err = AddChild(name, child);
        if (err != 0) Space?.ReleaseInode();
        return err;
    }

    /// <summary>Sets the target of a symlink made with the constructor (overlay copy-up).</summary>
    public void SetSymlinkTarget(string target) => _target = target;

    /// <summary>Creates a symlink child at boot (devfs population).</summary>
    public TmpfsInode AddSymlink(string name, string target)
    {
        var c = new TmpfsInode(FileSystem, LinuxMode.S_IFLNK | 0x1ff, 0, 0) { _target = target };
        AddChild(name, c);
        return c;
    }

    /// <inheritdoc/>
    public override int Create(Task task, string name, uint mode, int openFlags, out Inode? child, out FileDescription? file)
    {
        file = null;
        int err = NewChild(task, name, LinuxMode.S_IFREG | (mode & LinuxMode.PermMask), 0, out var c);
        child = c;
        if (err != 0) return err;
        return c.Open(task, openFlags, out file);
    }

    /// <inheritdoc/>
    public override int Mkdir(Task task, string name, uint mode, out Inode? child)
    {
        int err = NewChild(task, name, LinuxMode.S_IFDIR | (mode & LinuxMode.PermMask), 0, out var c);
        child = c;
        return err;
    }

    /// <inheritdoc/>
    public override int Mknod(Task task, string name, uint mode, ulong rdev, out Inode? child)
    {
        if ((mode & LinuxMode.S_IFMT) == 0) mode |= LinuxMode.S_IFREG;
        int err = NewChild(task, name, mode, rdev, out var c);
        child = c;
        return err;
    }

    /// <inheritdoc/>
    public override int Symlink(Task task, string name, string target, out Inode? child)
    {
        child = null;
        int err = Space?.ReserveInode() ?? 0;
        if (err != 0) return err;
        var c = new TmpfsInode(FileSystem, LinuxMode.S_IFLNK | 0x1ff, task.Credentials.Fsuid, task.Credentials.Fsgid) { _target = target };
        child = c;
        err = AddChild(name, c);
        if (err != 0) Space?.ReleaseInode();
        return err;
    }

    /// <inheritdoc/>
    public override int Link(Task task, string name, Inode target)
    {
        if (target is not TmpfsInode t || t.FileSystem != FileSystem) return -Errno.EXDEV;
        // shmem_link: every hard link takes an inode of nr_inodes (the dentry costs as much).
        int err = Space?.ReserveInode() ?? 0;
        if (err != 0) return err;
        err = AddChild(name, t);
        if (err != 0) { Space?.ReleaseInode(); return err; }
        lock (t._lock) { t._attr.Nlink++; t._attr.CtimeNs = FileSystem.NowNs(); }
        return 0;
    }

    /// <inheritdoc/>
    public override int Unlink(Task task, string name, Inode child) => RemoveEntry(name, child);

    /// <inheritdoc/>
    public override int Rmdir(Task task, string name, Inode child)
    {
        if (child is not TmpfsInode c || c._children == null) return -Errno.ENOTDIR;
        lock (c._lock) if (c._children.Count != 0) return -Errno.ENOTEMPTY;
        return RemoveEntry(name, child);
    }

    private int RemoveEntry(string name, Inode child)
    {
        if (_children == null) return -Errno.ENOTDIR;
        var c = (TmpfsInode)child;
        lock (_lock)
        {
            if (!_children.TryGetValue(name, out var cur) || cur != c) return -Errno.ENOENT;
            _children.Remove(name);
            _childOrder!.Remove(name);
            if (c.IsDirectory) _attr.Nlink--;
            _attr.MtimeNs = _attr.CtimeNs = FileSystem.NowNs();
        }
        Space?.ReleaseInode();
        c.DropLink();
        return 0;
    }

    /// <summary>Marks a file that never had a name (memfd, O_TMPFILE): freed when its last open closes.</summary>
    public void MarkUnlinked()
    {
        lock (_lock) _attr.Nlink = 0;
    }

    private void DropLink()
    {
        lock (_lock)
        {
            _attr.Nlink = IsDirectory ? 0 : _attr.Nlink - 1;
            _attr.CtimeNs = FileSystem.NowNs();
        }
        MaybeFreeData();
    }

    /// <inheritdoc/>
    public override int Rename(Task task, string oldName, Inode child, Inode newDir, string newName, Inode? replaced)
    {
        if (newDir is not TmpfsInode nd || nd.FileSystem != FileSystem) return -Errno.EXDEV;
        var c = (TmpfsInode)child;
        if (replaced is TmpfsInode r)
        {
            if (r.IsDirectory)
            {
                lock (r._lock) if (r._children!.Count != 0) return -Errno.ENOTEMPTY;
            }
            nd.RemoveEntry(newName, r);
        }
        lock (_lock)
        {
            _children!.Remove(oldName);
            _childOrder!.Remove(oldName);
            if (c.IsDirectory) _attr.Nlink--;
            _attr.MtimeNs = _attr.CtimeNs = FileSystem.NowNs();
        }
        int err = nd.AddChild(newName, c);
        lock (c._lock) c._attr.CtimeNs = FileSystem.NowNs();
        return err;
    }

    /// <inheritdoc/>
    public override int Exchange(Task task, string oldName, Inode child, Inode newDir, string newName, Inode other)
    {
        if (newDir is not TmpfsInode nd || nd.FileSystem != FileSystem) return -Errno.EXDEV;
        TmpfsInode a = (TmpfsInode)child, b = (TmpfsInode)other;
        long now = FileSystem.NowNs();
        // A directory that changes parents moves its ".." link with it.
        int moved = nd == this ? 0 : (a.IsDirectory ? 1 : 0) - (b.IsDirectory ? 1 : 0);
        lock (_lock)
        {
            _children![oldName] = b;
            if (nd == this) _children[newName] = a;
            _attr.Nlink = (ulong)((long)_attr.Nlink - moved);
            _attr.MtimeNs = _attr.CtimeNs = now;
        }
        if (nd != this)
        {
            lock (nd._lock)
            {
                nd._children![newName] = a;
                nd._attr.Nlink = (ulong)((long)nd._attr.Nlink + moved);
                nd._attr.MtimeNs = nd._attr.CtimeNs = now;
            }
        }
        lock (a._lock) a._attr.CtimeNs = now;
        lock (b._lock) b._attr.CtimeNs = now;
        return 0;
    }

    /// <inheritdoc/>
    public override int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        if (_children == null) return -Errno.ENOTDIR;
        lock (_lock)
        {
            // Newest first, as Linux's tmpfs lists a directory (a renamed entry counts as new).
            foreach (var (name, _) in _childOrder!.OrderByDescending(e => e.Value))
            {
                var c = _children[name];
                entries.Add(new DirEntry(name, c.Ino, LinuxMode.DirentType(c.Mode)));
            }
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int Readlink(Task task, out string target)
    {
        target = _target;
        return IsSymlink ? 0 : -Errno.EINVAL;
    }

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        switch (Mode & LinuxMode.S_IFMT)
        {
            case LinuxMode.S_IFREG:
                {
                    var f = new HostRegularFile(DataFd, ownsFd: false, flags) { ReadOnlyFd = ReadOnlyDataFd, Space = Space };
                    Interlocked.Increment(ref _openCount);
                    f.Released = () => { Interlocked.Decrement(ref _openCount); MaybeFreeData(); };
                    file = f;
                    return 0;
                }
            case LinuxMode.S_IFCHR:
                return DeviceRegistry.Open(task, Attr.Rdev, flags, out file);
            case LinuxMode.S_IFIFO:
                lock (_lock) _fifo ??= new NamedPipe();
                return _fifo.Open(task, flags, out file);
            case LinuxMode.S_IFSOCK:
                return -Errno.ENXIO;
            default:
                return -Errno.ENXIO;
        }
    }

    private void MaybeFreeData()
    {
        lock (_lock)
        {
            if (_attr.Nlink == 0 && Volatile.Read(ref _openCount) == 0 && _memfd >= 0)
            {
                Space?.Untrack(_memfd);
                FileDescriptor.Close(_memfd);
                _memfd = -1;
                if (_readOnlyMemfd >= 0) FileDescriptor.Close(_readOnlyMemfd);
                _readOnlyMemfd = -1;
            }
        }
    }

    /// <inheritdoc/>
    public override int GetXattr(string name, out byte[] value)
    {
        lock (_lock)
        {
            if (_xattrs.TryGetValue(name, out var v)) { value = v; return 0; }
        }
        value = Array.Empty<byte>();
        return -Errno.ENODATA;
    }

    /// <inheritdoc/>
    public override int SetXattr(string name, ReadOnlySpan<byte> value, int flags)
    {
        if (!name.StartsWith("user.", StringComparison.Ordinal) && !name.StartsWith("trusted.", StringComparison.Ordinal)
            && !name.StartsWith("security.", StringComparison.Ordinal)) return -Errno.EOPNOTSUPP;
        lock (_lock)
        {
            bool exists = _xattrs.ContainsKey(name);
            if ((flags & 1) != 0 && exists) return -Errno.EEXIST;   // XATTR_CREATE
            if ((flags & 2) != 0 && !exists) return -Errno.ENODATA; // XATTR_REPLACE
            _xattrs[name] = value.ToArray();
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int ListXattr(out List<string> names)
    {
        lock (_lock) names = new List<string>(_xattrs.Keys);
        return 0;
    }

    /// <inheritdoc/>
    public override int RemoveXattr(string name)
    {
        lock (_lock) return _xattrs.Remove(name) ? 0 : -Errno.ENODATA;
    }
}
