using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// An open file description (open(2)): the object fds point at, shared by dup and fork. It holds
/// the offset and status flags; concrete kinds (gofer-backed regular files, pipes, tmpfs, /dev
/// files, sockets, host-fd stdio) override what they support. Defaults give Linux's errno for a
/// file that does not support the operation.
/// </summary>
internal abstract class FileDescription
{
    private int _refs = 1;

    /// <summary>Access mode and status flags (O_RDONLY/O_WRONLY/O_RDWR, O_APPEND, O_NONBLOCK, ...).</summary>
    public int StatusFlags { get; set; }

    private VfsPath? _location;

    /// <summary>
    /// Where the file was opened (null for anonymous files: pipes, sockets, eventfds). The
    /// description holds a reference on the dentry until it is released, so an open file's
    /// dentry (and its ancestors) are never evicted from the dentry cache.
    /// </summary>
    public VfsPath? Location
    {
        get => _location;
        set
        {
            if (!IsReleased) value?.Dentry.IncRef();
            var old = _location;
            _location = value;
            if (!IsReleased) old?.Dentry.DecRef();
        }
    }

    /// <summary>The inode of the file, when it has one in a file system.</summary>
    public virtual Inode? Inode => Location?.Inode;

    /// <summary>
    /// A host file descriptor holding the same file, when there is one (gofer-donated regular
    /// files, memfds of tmpfs files): the platform maps it into the stub for file-backed mmap.
    /// -1 when there is none.
    /// </summary>
    public virtual int HostFd => -1;

    /// <summary>
    /// The host fd the platform may hand to the application's address space for a mapping: one
    /// whose host access is exactly this description's (a stub can reach the host's mmap and
    /// mprotect, so a read-write host fd behind a read-only description would let it write the
    /// file). <see cref="HostFd"/> unless a file keeps its data in a read-write host fd.
    /// </summary>
    public virtual int MapFd => HostFd;

    /// <summary>True if reads are allowed by the access mode.</summary>
    public bool Readable => OpenFlags.CanRead(StatusFlags);

    /// <summary>True if writes are allowed by the access mode.</summary>
    public bool Writable => OpenFlags.CanWrite(StatusFlags);

    /// <summary>True with O_NONBLOCK.</summary>
    public bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    /// <summary>Reads at the file offset, advancing it (read(2)). Returns bytes read or -errno.</summary>
    public virtual long Read(Task task, Span<byte> destination) => -Errno.EINVAL;

    /// <summary>Writes at the file offset (or the end with O_APPEND), advancing it (write(2)).</summary>
    public virtual long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EINVAL;

    /// <summary>Reads at <paramref name="offset"/> without moving the file offset (pread(2)).</summary>
    public virtual long PRead(Task task, Span<byte> destination, long offset) => -Errno.ESPIPE;

    /// <summary>Writes at <paramref name="offset"/> without moving the file offset (pwrite(2)).</summary>
    public virtual long PWrite(Task task, ReadOnlySpan<byte> source, long offset) => -Errno.ESPIPE;

    /// <summary>Moves the file offset (lseek(2)); returns the new offset or -errno.</summary>
    public virtual long Seek(Task task, long offset, int whence) => -Errno.ESPIPE;

    /// <summary>
    /// Lists directory entries from the description's directory offset (getdents64). The
    /// <paramref name="emit"/> callback returns false when the user buffer is full; the entry it
    /// refused is returned again by the next call.
    /// </summary>
    public virtual int ReadDir(Task task, Func<DirEntry, long, bool> emit) => -Errno.ENOTDIR;

    /// <summary>stat(2) of the open file.</summary>
    public virtual int Stat(out InodeAttr attr)
    {
        if (Inode is { } inode) return inode.Stat(out attr);
        attr = AnonymousAttr(LinuxMode.S_IFREG | 0x180);
        return 0;
    }

    /// <summary>Changes the size (ftruncate(2)).</summary>
    public virtual int Truncate(Task task, long length)
    {
        if (Inode is not { } inode || !LinuxMode.IsReg(inode.Mode)) return -Errno.EINVAL;
        var r = new SetAttrRequest { Mask = SetAttrMask.Size, Size = length };
        return inode.SetAttr(r);
    }

    /// <summary>fallocate(2).</summary>
    public virtual int Allocate(Task task, int mode, long offset, long length) => -Errno.EOPNOTSUPP;

    /// <summary>fsync(2)/fdatasync(2).</summary>
    public virtual int Sync(Task task, bool dataOnly) => 0;

    /// <summary>ioctl(2). Returns the result or -errno (ENOTTY when the request is unknown).</summary>
    public virtual long Ioctl(Task task, uint request, ulong argument) => -Errno.ENOTTY;

    /// <summary>
    /// The poll events (POLLIN, POLLOUT, POLLHUP...) that are ready now, of those in
    /// <paramref name="mask"/> (POLLERR/POLLHUP are always reported).
    /// </summary>
    public virtual short Readiness(short mask) => (short)(mask & (PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLRDNORM | PollEvents.POLLWRNORM));

    /// <summary>The queue notified when <see cref="Readiness"/> may have changed (null: never changes).</summary>
    public virtual WaitQueue? ReadinessQueue => null;

    /// <summary>The name /proc/self/fd shows for anonymous files ("pipe:[123]", "anon_inode:[eventfd]").</summary>
    public virtual string AnonymousName => "anon_inode:[file]";

    /// <summary>
    /// open(2) of /proc/self/fd/N for a file outside any file system: a new description of the
    /// same object with <paramref name="flags"/> (pipes, host fds); ENXIO where Linux gives it.
    /// </summary>
    public virtual int Reopen(Task task, int flags, out FileDescription? file)
    {
        file = null;
        return -Errno.ENXIO;
    }

    /// <summary>Called after F_SETFL changed the status flags.</summary>
    public virtual void StatusFlagsChanged()
    {
    }

    /// <summary>Adds a reference (an fd, a fork copy, an in-flight system call).</summary>
    public void IncRef() => Interlocked.Increment(ref _refs);

    /// <summary>Drops a reference; the last one calls <see cref="Release"/>.</summary>
    public void DecRef()
    {
        if (Interlocked.Decrement(ref _refs) != 0) return;
        if (Inode is { } inode) Locks.FileLocks.ReleaseOwner(inode, this);
        Inotify.FsNotify.Closed(this);
        Release();
        _location?.Dentry.DecRef();
    }

    /// <summary>True once the last reference was dropped (the file is closed everywhere).</summary>
    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

    /// <summary>Called once when the last fd referring to this description is closed.</summary>
    public virtual void Release()
    {
    }

    /// <summary>
    /// Sends SIGPIPE to a task whose write hit a pipe or socket without readers (tasks not yet
    /// in a thread group, as in unit tests, get only the EPIPE).
    /// </summary>
    protected static void RaiseBrokenPipe(Task task)
    {
        if ((ThreadGroup?)task.ThreadGroup is not null) task.SendSignal(Signal.SIGPIPE);
    }

    /// <summary>Attributes for files that live in no file system (pipes, sockets, eventfds).</summary>
    protected InodeAttr AnonymousAttr(uint mode)
    {
        long now = FileSystem.NowNs();
        return new InodeAttr
        {
            Mode = mode, Nlink = 1, Ino = (ulong)(GetHashCode() & 0x7fffffff), Dev = 0xa, BlockSize = 4096,
            AtimeNs = now, MtimeNs = now, CtimeNs = now,
        };
    }
}
