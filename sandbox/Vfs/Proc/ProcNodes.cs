using System.Text;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Proc;

/// <summary>A /proc directory whose entries are computed on every lookup and listing (never cached).</summary>
internal sealed class ProcDirectory : Inode
{
    private readonly Func<IEnumerable<string>> _list;
    private readonly Func<string, Inode?> _lookup;
    private readonly uint _mode, _uid, _gid;

    /// <summary>Creates a directory listing <paramref name="list"/> and resolving names with <paramref name="lookup"/>.</summary>
    public ProcDirectory(FileSystem fs, Func<IEnumerable<string>> list, Func<string, Inode?> lookup, uint mode = 0x16d, uint uid = 0, uint gid = 0, ulong ino = 0)
        : base(fs, ino)
    {
        _list = list;
        _lookup = lookup;
        _mode = LinuxMode.S_IFDIR | mode;
        _uid = uid;
        _gid = gid;
    }

    /// <summary>A directory with a fixed set of children made on demand.</summary>
    public static ProcDirectory Fixed(FileSystem fs, IReadOnlyDictionary<string, Func<Inode>> children, uint mode = 0x16d, uint uid = 0, uint gid = 0)
        => new(fs, () => children.Keys, n => children.TryGetValue(n, out var make) ? make() : null, mode, uid, gid);

    /// <summary>
    /// For a /proc/PID directory: the process it shows. An fd open on it names the process the way
    /// a pidfd does (pidfd_send_signal(2) accepts it, as Linux's tgid_pidfd_to_pid).
    /// </summary>
    public Kernel.ThreadGroup? Process { get; init; }

    /// <inheritdoc/>
    public override InodeAttr Attr => ProcFileSystem.AttrOf(this, _mode, _uid, _gid, 0);

    /// <inheritdoc/>
    public override bool CachesLookups => false;

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = _lookup(name);
        return child != null ? 0 : -Errno.ENOENT;
    }

    /// <inheritdoc/>
    public override int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        foreach (var name in _list())
        {
            var c = _lookup(name);
            if (c != null) entries.Add(new DirEntry(name, c.Ino, LinuxMode.DirentType(c.Mode)));
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        return -Errno.EISDIR;
    }
}

/// <summary>A /proc file whose text is generated when it is opened.</summary>
internal sealed class ProcFile : Inode
{
    private readonly Func<Task, string> _content;
    private readonly Func<Task, byte[], long>? _write;
    private readonly uint _mode, _uid, _gid;

    /// <summary>
    /// Creates a file generating <paramref name="content"/> for the opening task; writes go to
    /// <paramref name="write"/> (the writing task and the bytes; returns bytes taken or -errno)
    /// or are accepted and dropped when there is none.
    /// </summary>
    public ProcFile(FileSystem fs, Func<Task, string> content, uint mode = 0x124, uint uid = 0, uint gid = 0,
        Func<Task, byte[], long>? write = null) : base(fs)
    {
        _content = content;
        _write = write;
        _mode = LinuxMode.S_IFREG | mode;
        _uid = uid;
        _gid = gid;
    }

    /// <inheritdoc/>
    public override InodeAttr Attr => ProcFileSystem.AttrOf(this, _mode, _uid, _gid, 0);

    /// <inheritdoc/>
    public override bool CachesLookups => false;

    /// <summary>
    /// A truncate (open with O_TRUNC, as a shell's "echo 1 > /proc/self/oom_score_adj" does) or a
    /// time change is accepted and has no effect, as on Linux's procfs; mode and owner changes
    /// are refused (proc_setattr's EPERM).
    /// </summary>
    public override int SetAttr(in SetAttrRequest request) =>
        (request.Mask & (SetAttrMask.Mode | SetAttrMask.Uid | SetAttrMask.Gid)) != 0 ? -Errno.EPERM : 0;

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = new ProcFileDescription(Memory.LinuxText.Encode(_content(task)), flags, _write);
        return 0;
    }
}

/// <summary>A /proc symlink; "magic" ones (fd/N, cwd, root, exe) jump straight to their location.</summary>
internal sealed class ProcSymlink : Inode
{
    private readonly Func<Task, string?> _target;
    private readonly Func<Task, VfsPath?>? _magic;
    private readonly Func<Task, FileDescription?>? _file;
    private readonly uint _uid, _gid, _perm;
    private readonly long _size;

    /// <summary>
    /// Creates a link whose text is <paramref name="target"/> (null: ENOENT) and, if given, whose
    /// walk jumps to <paramref name="magic"/>. <paramref name="perm"/> and <paramref name="size"/>
    /// are what lstat shows (an fd link: the fd's access mode, size 64 as Linux shows).
    /// </summary>
    public ProcSymlink(FileSystem fs, Func<Task, string?> target, Func<Task, VfsPath?>? magic = null, uint uid = 0, uint gid = 0,
        Func<Task, FileDescription?>? file = null, uint perm = 0x1ff, long size = 0) : base(fs)
    {
        _target = target;
        _magic = magic;
        _file = file;
        _uid = uid;
        _gid = gid;
        _perm = perm;
        _size = size;
    }

    /// <inheritdoc/>
    public override InodeAttr Attr => ProcFileSystem.AttrOf(this, LinuxMode.S_IFLNK | _perm, _uid, _gid, _size);

    /// <inheritdoc/>
    public override bool CachesLookups => false;

    /// <inheritdoc/>
    public override int Readlink(Task task, out string target)
    {
        target = _target(task) ?? "";
        return target.Length > 0 ? 0 : -Errno.ENOENT;
    }

    /// <inheritdoc/>
    public override bool MagicLinkTarget(Task task, out VfsPath? location)
    {
        location = _magic?.Invoke(task);
        return location != null;
    }

    /// <inheritdoc/>
    public override FileDescription? MagicLinkFile(Task task) => _file?.Invoke(task);
}

/// <summary>An open /proc file: a snapshot of its text taken at open.</summary>
internal sealed class ProcFileDescription : FileDescription
{
    private readonly byte[] _data;
    private readonly Func<Task, byte[], long>? _write;
    private long _offset;

    /// <summary>Wraps <paramref name="data"/>; writes go to <paramref name="write"/> when given.</summary>
    public ProcFileDescription(byte[] data, int flags, Func<Task, byte[], long>? write = null)
    {
        _data = data;
        _write = write;
        StatusFlags = flags;
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        lock (_data)
        {
            long n = PRead(task, destination, _offset);
            if (n > 0) _offset += n;
            return n;
        }
    }

    /// <inheritdoc/>
    public override long PRead(Task task, Span<byte> destination, long offset)
    {
        if (!Readable) return -Errno.EBADF;
        if (offset >= _data.Length) return 0;
        int n = (int)Math.Min(destination.Length, _data.Length - offset);
        _data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) =>
        !Writable ? -Errno.EBADF : _write != null ? _write(task, source.ToArray()) : source.Length;

    /// <inheritdoc/>
    public override long PWrite(Task task, ReadOnlySpan<byte> source, long offset) => Write(task, source);

    /// <inheritdoc/>
    public override long Seek(Task task, long offset, int whence)
    {
        lock (_data)
        {
            long n = whence switch { 0 => offset, 1 => _offset + offset, 2 => _data.Length + offset, _ => -1 };
            if (n < 0) return -Errno.EINVAL;
            return _offset = n;
        }
    }
}
