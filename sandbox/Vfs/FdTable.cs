using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// A file descriptor table: fd numbers mapped to open file descriptions plus the close-on-exec
/// flag. Shared by threads created with CLONE_FILES; <see cref="Fork"/> copies it for fork.
/// Every installed description holds one reference, dropped when the fd is closed.
/// </summary>
internal sealed class FdTable
{
    private readonly object _lock = new();
    private FileDescription?[] _files = new FileDescription?[64];
    private bool[] _cloexec = new bool[64];

    /// <summary>
    /// RLIMIT_NOFILE: fds must be below this (EMFILE otherwise). The owner of rlimits updates it
    /// on setrlimit/prlimit.
    /// </summary>
    public int Limit { get; set; } = 1 << 20;

    /// <summary>The description of <paramref name="fd"/>, or null (EBADF).</summary>
    public FileDescription? Get(int fd)
    {
        lock (_lock) return fd >= 0 && fd < _files.Length ? _files[fd] : null;
    }

    /// <summary>
    /// The description of <paramref name="fd"/> with a new reference the caller must drop with
    /// <see cref="FileDescription.DecRef"/>: an in-flight system call keeps the file (and its host
    /// fd) alive even if another thread closes the fd meanwhile. Null for EBADF.
    /// </summary>
    public FileDescription? GetRef(int fd)
    {
        lock (_lock)
        {
            var f = fd >= 0 && fd < _files.Length ? _files[fd] : null;
            f?.IncRef();
            return f;
        }
    }

    /// <summary>The description of <paramref name="fd"/> and its close-on-exec flag.</summary>
    public FileDescription? Get(int fd, out bool closeOnExec)
    {
        lock (_lock)
        {
            closeOnExec = fd >= 0 && fd < _files.Length && _cloexec[fd];
            return fd >= 0 && fd < _files.Length ? _files[fd] : null;
        }
    }

    /// <summary>
    /// Installs <paramref name="file"/> at the lowest free fd ≥ <paramref name="minFd"/>, taking a new
    /// reference. Returns the fd or -EMFILE (-EINVAL when minFd is beyond the limit, as F_DUPFD).
    /// </summary>
    public int Install(FileDescription file, bool closeOnExec, int minFd = 0)
    {
        lock (_lock)
        {
            if (minFd < 0 || minFd >= Limit) return minFd >= Limit ? -Errno.EINVAL : -Errno.EBADF;
            for (int fd = minFd; fd < Limit; fd++)
            {
                if (fd >= _files.Length) Grow(fd + 1);
                if (_files[fd] == null)
                {
                    file.IncRef();
                    _files[fd] = file;
                    _cloexec[fd] = closeOnExec;
                    return fd;
                }
            }
            return -Errno.EMFILE;
        }
    }

    /// <summary>
    /// Installs a freshly created description (whose creation reference the table takes over):
    /// on failure the description is released. Returns the fd or -errno.
    /// </summary>
    public int InstallNew(FileDescription file, bool closeOnExec, int minFd = 0)
    {
        int fd = Install(file, closeOnExec, minFd);
        file.DecRef();
        return fd;
    }

    /// <summary>
    /// Puts <paramref name="file"/> at exactly <paramref name="fd"/> (dup2/dup3), closing what was
    /// there. Returns fd, -EBADF when fd is out of range of the limit.
    /// </summary>
    public int InstallAt(int fd, FileDescription file, bool closeOnExec)
    {
        FileDescription? old;
        lock (_lock)
        {
            if (fd < 0 || fd >= Limit) return -Errno.EBADF;
            if (fd >= _files.Length) Grow(fd + 1);
            old = _files[fd];
            file.IncRef();
            _files[fd] = file;
            _cloexec[fd] = closeOnExec;
        }
        if (old != null) Drop(old);
        return fd;
    }

    /// <summary>Closes <paramref name="fd"/> (close(2)). Returns 0 or -EBADF.</summary>
    public int Close(int fd)
    {
        FileDescription? old;
        lock (_lock)
        {
            if (fd < 0 || fd >= _files.Length || _files[fd] == null) return -Errno.EBADF;
            old = _files[fd];
            _files[fd] = null;
            _cloexec[fd] = false;
        }
        Drop(old!);
        return 0;
    }

    /// <summary>Sets or clears FD_CLOEXEC. Returns 0 or -EBADF.</summary>
    public int SetCloseOnExec(int fd, bool value)
    {
        lock (_lock)
        {
            if (fd < 0 || fd >= _files.Length || _files[fd] == null) return -Errno.EBADF;
            _cloexec[fd] = value;
            return 0;
        }
    }

    /// <summary>close_range(2): closes (or marks close-on-exec with <paramref name="cloexecOnly"/>) fds in [first, last].</summary>
    public void CloseRange(uint first, uint last, bool cloexecOnly)
    {
        var closed = new List<FileDescription>();
        lock (_lock)
        {
            long end = Math.Min(last, (uint)_files.Length - 1);
            for (long fd = first; fd <= end; fd++)
            {
                if (_files[fd] == null) continue;
                if (cloexecOnly) { _cloexec[fd] = true; continue; }
                closed.Add(_files[fd]!);
                _files[fd] = null;
                _cloexec[fd] = false;
            }
        }
        foreach (var f in closed) Drop(f);
    }

    /// <summary>A copy of the table for fork without CLONE_FILES (each description gains a reference).</summary>
    public FdTable Fork()
    {
        var copy = new FdTable { Limit = Limit };
        lock (_lock)
        {
            copy._files = (FileDescription?[])_files.Clone();
            copy._cloexec = (bool[])_cloexec.Clone();
            foreach (var f in copy._files) f?.IncRef();
        }
        return copy;
    }

    /// <summary>Closes every fd marked close-on-exec (execve).</summary>
    public void CloseOnExec()
    {
        var closed = new List<FileDescription>();
        lock (_lock)
        {
            for (int fd = 0; fd < _files.Length; fd++)
            {
                if (_files[fd] != null && _cloexec[fd])
                {
                    closed.Add(_files[fd]!);
                    _files[fd] = null;
                    _cloexec[fd] = false;
                }
            }
        }
        foreach (var f in closed) Drop(f);
    }

    /// <summary>
    /// An fd leaves the table: as on Linux, whose POSIX record locks belong to the table of open
    /// files (fl_owner = current->files), any close of an fd of a file drops this table's record
    /// locks on it; then the description loses the fd's reference.
    /// </summary>
    private void Drop(FileDescription file)
    {
        if (file.Inode is { } inode) Locks.FileLocks.ReleaseOwner(inode, this);
        file.DecRef();
    }

    /// <summary>Closes every fd (exit of the last task using the table).</summary>
    public void CloseAll() => CloseRange(0, uint.MaxValue, cloexecOnly: false);

    /// <summary>The open fds in ascending order (for /proc/pid/fd).</summary>
    public List<(int Fd, FileDescription File)> Snapshot()
    {
        var list = new List<(int, FileDescription)>();
        lock (_lock)
        {
            for (int fd = 0; fd < _files.Length; fd++)
                if (_files[fd] is { } f) list.Add((fd, f));
        }
        return list;
    }

    private void Grow(int need)
    {
        int size = _files.Length;
        while (size < need) size *= 2;
        Array.Resize(ref _files, size);
        Array.Resize(ref _cloexec, size);
    }
}
