using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// An open directory: getdents64 lists ".", ".." and the inode's entries from a snapshot taken
/// at the first read (and again after lseek to 0), with the entry index as the offset.
/// </summary>
internal sealed class DirectoryFile : FileDescription
{
    private readonly object _lock = new();
    private List<DirEntry>? _entries;
    private long _offset;

    /// <summary>Opens directory <paramref name="location"/>.</summary>
    public DirectoryFile(VfsPath location, int flags)
    {
        Location = location;
        StatusFlags = flags;
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination) => -Errno.EISDIR;

    /// <inheritdoc/>
    public override long PRead(Task task, Span<byte> destination, long offset) => -Errno.EISDIR;

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EBADF;

    /// <inheritdoc/>
    public override int ReadDir(Task task, Func<DirEntry, long, bool> emit)
    {
        lock (_lock)
        {
            if (_entries == null)
            {
                var loc = Location!.Value;
                Proc.ProcFileSystem.CallerTask = task;
                int err = loc.Inode.ReadDir(out var list);
                if (err != 0) return err;
                var parent = VirtualFileSystem.ParentOf(loc, task.Fs.Root);
                _entries = new List<DirEntry>(list.Count + 2)
                {
                    new(".", loc.Inode.Ino, 4),
                    new("..", parent.Inode.Ino, 4),
                };
                _entries.AddRange(list);
            }
            while (_offset < _entries.Count)
            {
                if (!emit(_entries[(int)_offset], _offset + 1)) break;
                _offset++;
            }
            return 0;
        }
    }

    /// <inheritdoc/>
    public override long Seek(Task task, long offset, int whence)
    {
        lock (_lock)
        {
            long n = whence switch { 0 => offset, 1 => _offset + offset, _ => -1 };
            if (whence > 1) return -Errno.EINVAL;
            if (n < 0) return -Errno.EINVAL;
            if (n == 0) _entries = null;
            return _offset = n;
        }
    }
}

/// <summary>An O_PATH description: names a location for *at calls, fchdir and fstat; no I/O.</summary>
internal sealed class PathFile : FileDescription
{
    /// <summary>Creates an O_PATH description of <paramref name="location"/>.</summary>
    public PathFile(VfsPath location, int flags)
    {
        Location = location;
        StatusFlags = flags;
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination) => -Errno.EBADF;

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EBADF;

    /// <inheritdoc/>
    public override long PRead(Task task, Span<byte> destination, long offset) => -Errno.EBADF;

    /// <inheritdoc/>
    public override long PWrite(Task task, ReadOnlySpan<byte> source, long offset) => -Errno.EBADF;

    /// <inheritdoc/>
    public override int ReadDir(Task task, Func<DirEntry, long, bool> emit) => -Errno.EBADF;

    /// <inheritdoc/>
    public override long Ioctl(Task task, uint request, ulong argument) => -Errno.EBADF;
}
