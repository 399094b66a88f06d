using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Tmpfs;

namespace RunscNet.Sentry.Vfs.Overlay;

/// <summary>
/// A file of the memory overlay: its upper (tmpfs) version once copied up or created, else its
/// lower version. Directories merge both layers minus whiteouts; an opaque directory (created
/// over a whiteout) hides the lower one entirely.
/// </summary>
internal sealed class OverlayInode : Inode
{
    private readonly object _lock = new();
    private readonly OverlayInode? _parent;
    private string _name;
    private TmpfsInode? _upper;
    private readonly Inode? _lower;
    private readonly HashSet<string> _whiteouts = new();
    private bool _opaque;

    internal OverlayInode(OverlayFileSystem fs, OverlayInode? parent, string name, TmpfsInode? upper, Inode? lower)
        : base(fs, lower?.Ino ?? upper!.Ino)
    {
        _parent = parent;
        _name = name;
        _upper = upper;
        _lower = lower;
    }

    private OverlayFileSystem Overlay => (OverlayFileSystem)FileSystem;

    /// <summary>The layer that currently holds the file.</summary>
    private Inode Current
    {
        get { lock (_lock) return (Inode?)_upper ?? _lower!; }
    }

    /// <inheritdoc/>
    public override InodeAttr Attr
    {
        get
        {
            var a = Current.Attr;
            a.Dev = FileSystem.DeviceId;
            a.Ino = Ino;
            return a;
        }
    }

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        int err = Current.Stat(out attr);
        attr.Dev = FileSystem.DeviceId;
        attr.Ino = Ino;
        return err;
    }

    /// <summary>Copies this file (and its parents) into the upper layer if it is not there yet.</summary>
    private int CopyUp(Task task)
    {
        lock (_lock) if (_upper != null) return 0;
        if (_parent == null) return -Errno.EIO;
        int err = _parent.CopyUp(task);
        if (err != 0) return err;
        var parentUpper = _parent._upper!;
        var lower = _lower!;
        var a = lower.Attr;
        TmpfsInode up;
        switch (a.Mode & LinuxMode.S_IFMT)
        {
            case LinuxMode.S_IFDIR:
                up = new TmpfsInode(Overlay.Upper, a.Mode, a.Uid, a.Gid);
                break;
            case LinuxMode.S_IFLNK:
                {
                    err = lower.Readlink(task, out string target);
                    if (err != 0) return err;
                    up = new TmpfsInode(Overlay.Upper, a.Mode, a.Uid, a.Gid);
                    up.SetSymlinkTarget(target);
                    break;
                }
            case LinuxMode.S_IFREG:
                {
                    up = new TmpfsInode(Overlay.Upper, a.Mode, a.Uid, a.Gid);
                    err = CopyData(task, lower, up);
                    if (err != 0) return err;
                    break;
                }
            default:
                up = new TmpfsInode(Overlay.Upper, a.Mode, a.Uid, a.Gid, a.Rdev);
                break;
        }
        up.SetAttr(new SetAttrRequest { Mask = SetAttrMask.Atime | SetAttrMask.Mtime, AtimeNs = a.AtimeNs, MtimeNs = a.MtimeNs });
        lock (_lock)
        {
            if (_upper != null) return 0;
            err = parentUpper.AddChild(_name, up);
            if (err != 0 && err != -Errno.EEXIST) return err;
            _upper = up;
        }
        return 0;
    }

    private static unsafe int CopyData(Task task, Inode lower, TmpfsInode up)
    {
        int err = lower.Open(task, OpenFlags.O_RDONLY, out var f);
        if (err != 0) return err;
        try
        {
            var buf = new byte[1 << 16];
            long off = 0;
            while (true)
            {
                long n = f!.PRead(task, buf, off);
                if (n < 0) return (int)n;
                if (n == 0) return 0;
                fixed (byte* p = buf)
                {
                    long done = 0;
                    while (done < n)
                    {
                        nint w = Interop.HostFiles.pwrite(up.DataFd, p + done, (nint)(n - done), off + done);
                        if (w < 0) return Interop.HostFiles.Neg();
                        done += w;
                    }
                }
                off += n;
            }
        }
        finally
        {
            f!.DecRef();
        }
    }

    /// <inheritdoc/>
    public override int SetAttr(in SetAttrRequest request)
    {
        var task = Proc.ProcFileSystem.CallerTask;
        int err = task != null ? CopyUp(task) : -Errno.EIO;
        if (err != 0) return err;
        return _upper!.SetAttr(request);
    }

    // ---- directories ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = null;
        if (!IsDirectory) return -Errno.ENOTDIR;
        TmpfsInode? upper;
        bool opaque;
        lock (_lock)
        {
            if (_whiteouts.Contains(name)) return -Errno.ENOENT;
            upper = _upper;
            opaque = _opaque;
        }
        Inode? up = null, low = null;
        if (upper != null && upper.Lookup(name, out var u) == 0) up = u;
        if (!opaque && _lower != null && (up == null || up.IsDirectory))
        {
            if (_lower.Lookup(name, out var l) == 0 && (up == null || l!.IsDirectory)) low = l;
        }
        if (up == null && low == null) return -Errno.ENOENT;
        child = new OverlayInode(Overlay, this, name, (TmpfsInode?)up, low);
        return 0;
    }

    /// <inheritdoc/>
    public override int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        if (!IsDirectory) return -Errno.ENOTDIR;
        var seen = new HashSet<string>();
        TmpfsInode? upper;
        bool opaque;
        HashSet<string> whiteouts;
        lock (_lock) { upper = _upper; opaque = _opaque; whiteouts = new HashSet<string>(_whiteouts); }
        if (upper != null && upper.ReadDir(out var ue) == 0)
            foreach (var e in ue) if (seen.Add(e.Name)) entries.Add(e);
        if (!opaque && _lower != null && _lower.ReadDir(out var le) == 0)
            foreach (var e in le) if (!whiteouts.Contains(e.Name) && seen.Add(e.Name)) entries.Add(e);
        return 0;
    }

    /// <summary>Copies this directory up and clears any whiteout of <paramref name="name"/> before a create.</summary>
    private int PrepareCreate(Task task, string name, bool directory)
    {
        int err = CopyUp(task);
        if (err != 0) return err;
        lock (_lock)
        {
            if (_whiteouts.Remove(name)) _pendingOpaque = directory ? name : null;
            else _pendingOpaque = null;
        }
        return 0;
    }

    private string? _pendingOpaque;

    private Inode Wrap(string name, Inode upperChild)
    {
        var c = new OverlayInode(Overlay, this, name, (TmpfsInode)upperChild, null);
        lock (_lock)
        {
            if (_pendingOpaque == name) c._opaque = true;
            _pendingOpaque = null;
        }
        return c;
    }

    /// <inheritdoc/>
    public override int Create(Task task, string name, uint mode, int openFlags, out Inode? child, out FileDescription? file)
    {
        child = null;
        file = null;
        int err = PrepareCreate(task, name, false);
        if (err != 0) return err;
        err = _upper!.Create(task, name, mode, openFlags, out var c, out file);
        if (err != 0) return err;
        child = Wrap(name, c!);
        return 0;
    }

    /// <inheritdoc/>
    public override int Mkdir(Task task, string name, uint mode, out Inode? child)
    {
        child = null;
        int err = PrepareCreate(task, name, true);
        if (err != 0) return err;
        err = _upper!.Mkdir(task, name, mode, out var c);
        if (err != 0) return err;
        child = Wrap(name, c!);
        return 0;
    }

    /// <inheritdoc/>
    public override int Mknod(Task task, string name, uint mode, ulong rdev, out Inode? child)
    {
        child = null;
        int err = PrepareCreate(task, name, false);
        if (err != 0) return err;
        err = _upper!.Mknod(task, name, mode, rdev, out var c);
        if (err != 0) return err;
        child = Wrap(name, c!);
        return 0;
    }

    /// <inheritdoc/>
    public override int Symlink(Task task, string name, string target, out Inode? child)
    {
        child = null;
        int err = PrepareCreate(task, name, false);
        if (err != 0) return err;
        err = _upper!.Symlink(task, name, target, out var c);
        if (err != 0) return err;
        child = Wrap(name, c!);
        return 0;
    }

    /// <inheritdoc/>
    public override int Link(Task task, string name, Inode target)
    {
        if (target is not OverlayInode t || t.FileSystem != FileSystem) return -Errno.EXDEV;
        int err = t.CopyUp(task);
        if (err != 0) return err;
        err = PrepareCreate(task, name, false);
        if (err != 0) return err;
        return _upper!.Link(task, name, t._upper!);
    }

    /// <summary>Removes <paramref name="name"/>: from the upper layer if there, and hides the lower one with a whiteout.</summary>
    private int Remove(Task task, string name, OverlayInode c, bool directory)
    {
        if (directory)
        {
            // A merged directory must be empty in both layers.
            if (c.ReadDir(out var list) == 0 && list.Count > 0) return -Errno.ENOTEMPTY;
        }
        int err = CopyUp(task);
        if (err != 0) return err;
        if (c._upper != null)
        {
            err = directory ? _upper!.Rmdir(task, name, c._upper) : _upper!.Unlink(task, name, c._upper);
            if (err != 0) return err;
        }
        if (c._lower != null) lock (_lock) _whiteouts.Add(name);
        return 0;
    }

    /// <inheritdoc/>
    public override int Unlink(Task task, string name, Inode child) => Remove(task, name, (OverlayInode)child, false);

    /// <inheritdoc/>
    public override int Rmdir(Task task, string name, Inode child) => Remove(task, name, (OverlayInode)child, true);

    /// <inheritdoc/>
    public override int Rename(Task task, string oldName, Inode child, Inode newDir, string newName, Inode? replaced)
    {
        if (newDir is not OverlayInode nd || nd.FileSystem != FileSystem) return -Errno.EXDEV;
        var c = (OverlayInode)child;
        if (c.IsDirectory && c._lower != null) return -Errno.EXDEV;
        if (replaced is OverlayInode r && r.IsDirectory && r.ReadDir(out var l) == 0 && l.Count > 0) return -Errno.ENOTEMPTY;
        int err = c.CopyUp(task);
        if (err != 0) return err;
        err = nd.CopyUp(task);
        if (err != 0) return err;
        var ro = replaced as OverlayInode;
        lock (nd._lock) nd._whiteouts.Remove(newName);
        err = _upper!.Rename(task, oldName, c._upper!, nd._upper!, newName, ro?._upper);
        if (err != 0) return err;
        if (ro?._lower != null && ro._upper == null)
        {
            // The replaced name existed only below: the rename put the upper file over it already.
        }
        if (c._lower != null) lock (_lock) _whiteouts.Add(oldName);
        c._name = newName;
        return 0;
    }

    /// <inheritdoc/>
    public override int Readlink(Task task, out string target) => Current.Readlink(task, out target);

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        bool write = OpenFlags.CanWrite(flags) || (flags & OpenFlags.O_TRUNC) != 0;
        if (write && LinuxMode.IsReg(Mode))
        {
            int err = CopyUp(task);
            if (err != 0) return err;
        }
        return Current.Open(task, flags, out file);
    }

    /// <inheritdoc/>
    public override int StatFs(out StatFsInfo info)
    {
        int err = (_lower ?? Overlay.Lower.Root).StatFs(out info);
        info.Type = Overlay.Magic;
        return err;
    }

    /// <inheritdoc/>
    public override int GetXattr(string name, out byte[] value) => Current.GetXattr(name, out value);

    /// <inheritdoc/>
    public override int ListXattr(out List<string> names) => Current.ListXattr(out names);

    /// <inheritdoc/>
    public override int SetXattr(string name, ReadOnlySpan<byte> value, int flags)
    {
        var task = Proc.ProcFileSystem.CallerTask;
        int err = task != null ? CopyUp(task) : -Errno.EIO;
        return err != 0 ? err : _upper!.SetXattr(name, value, flags);
    }

    /// <inheritdoc/>
    public override int RemoveXattr(string name)
    {
        var task = Proc.ProcFileSystem.CallerTask;
        int err = task != null ? CopyUp(task) : -Errno.EIO;
        return err != 0 ? err : _upper!.RemoveXattr(name);
    }
}
