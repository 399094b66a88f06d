using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// An open regular file whose data lives in a host fd: a gofer-donated fd of a container file,
/// or the memfd of a tmpfs file. Reads and writes go straight to the host fd (pread/pwrite at
/// the description's own offset), and the fd is what the platform maps for mmap.
/// </summary>
internal class HostRegularFile : FileDescription
{
    private readonly object _offsetLock = new();
    private readonly bool _ownsFd;
    private int _fd;
    private long _offset;

    /// <summary>Wraps <paramref name="hostFd"/>; with <paramref name="ownsFd"/> it is closed on release.</summary>
    public HostRegularFile(int hostFd, bool ownsFd, int flags)
    {
        _fd = hostFd;
        _ownsFd = ownsFd;
        StatusFlags = flags;
    }

    /// <inheritdoc/>
    public override int HostFd => _fd;

    /// <summary>
    /// For a host fd open read-write behind descriptions of any access (a tmpfs file's memfd):
    /// a read-only fd of the same file, for mappings of a description not open for writing.
    /// </summary>
    public Func<int>? ReadOnlyFd { get; init; }

    /// <inheritdoc/>
    public override int MapFd => !Writable && ReadOnlyFd != null ? ReadOnlyFd() : _fd;

    /// <summary>Called after data was written (size/mtime caches of the inode).</summary>
    public Action? Written { get; set; }

    /// <summary>The tmpfs limits writes and fallocate must respect (a tmpfs file's memfd), or null.</summary>
    public Tmpfs.TmpfsSpace? Space { get; init; }

    /// <summary>Called once on release (open-file counts of the inode).</summary>
    public Action? Released { get; set; }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        if (!Readable) return -Errno.EBADF;
        lock (_offsetLock)
        {
            long n = PReadHost(destination, _offset);
            if (n > 0) _offset += n;
            return n;
        }
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source)
    {
        if (!Writable) return -Errno.EBADF;
        lock (_offsetLock)
        {
            if ((StatusFlags & OpenFlags.O_APPEND) != 0)
            {
                long end = SizeOfHost();
                if (end < 0) return end;
                _offset = end;
            }
            long n = PWriteHost(source, _offset);
            if (n > 0) _offset += n;
            return n;
        }
    }

    /// <inheritdoc/>
    public override long PRead(Task task, Span<byte> destination, long offset)
    {
        if (!Readable) return -Errno.EBADF;
        if (offset < 0) return -Errno.EINVAL;
        return PReadHost(destination, offset);
    }

    /// <inheritdoc/>
    public override long PWrite(Task task, ReadOnlySpan<byte> source, long offset)
    {
        if (!Writable) return -Errno.EBADF;
        if (offset < 0) return -Errno.EINVAL;
        // Linux: pwrite on an O_APPEND file appends regardless of the offset.
        if ((StatusFlags & OpenFlags.O_APPEND) != 0)
        {
            long end = SizeOfHost();
            if (end < 0) return end;
            offset = end;
        }
        return PWriteHost(source, offset);
    }

    /// <inheritdoc/>
    public override long Seek(Task task, long offset, int whence)
    {
        lock (_offsetLock)
        {
            long basis;
            switch (whence)
            {
                case 0: basis = 0; break;
                case 1: basis = _offset; break;
                case 2:
                    basis = SizeOfHost();
                    if (basis < 0) return basis;
                    break;
                case 3:
                case 4:
                    {
                        long r = HostFiles.lseek(_fd, offset, whence);
                        if (r < 0) return HostFiles.Neg();
                        return _offset = r;
                    }
                default: return -Errno.EINVAL;
            }
            long n = basis + offset;
            if (n < 0 || (offset > 0 && n < basis)) return -Errno.EINVAL;
            return _offset = n;
        }
    }

    /// <inheritdoc/>
    public override int Truncate(Task task, long length)
    {
        if (!Writable) return -Errno.EINVAL;
        if (Inode is { } inode) return base.Truncate(task, length);
        int r = HostFiles.ftruncate(_fd, length);
        return r < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override unsafe int Allocate(Task task, int mode, long offset, long length)
    {
        if (!Writable) return -Errno.EBADF;
        // Allocating (not punching or keeping the size of a hole) must fit the tmpfs's size=.
        if (Space != null && (mode & 0x2 /* FALLOC_FL_PUNCH_HOLE */) == 0 && offset >= 0 && length > 0)
        {
            int err = Space.AllowAllocate(_fd, offset, length);
            if (err != 0) return err;
        }
        int r = HostFiles.fallocate(_fd, mode, offset, length);
        if (r < 0) return HostFiles.Neg();
        Written?.Invoke();
        return 0;
    }

    /// <inheritdoc/>
    public override int Sync(Task task, bool dataOnly)
    {
        int r = dataOnly ? HostFiles.fdatasync(_fd) : HostFiles.fsync(_fd);
        return r < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override long Ioctl(Task task, uint request, ulong argument)
    {
        const uint FIONREAD = 0x541B;
        if (request == FIONREAD)
        {
            long size = SizeOfHost();
            if (size < 0) return size;
            int avail;
            lock (_offsetLock) avail = (int)Math.Clamp(size - _offset, 0, int.MaxValue);
            return Memory.MemoryIOExtensions.CopyOutStruct(task.Memory, argument, avail);
        }
        return -Errno.ENOTTY;
    }

    /// <inheritdoc/>
    public override void Release()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (_ownsFd && fd >= 0) FileDescriptor.Close(fd);
        Released?.Invoke();
    }

    /// <summary>Host fstat of the fd (size, times kept by the host).</summary>
    public unsafe int HostStat(out LinuxStat st)
    {
        LinuxStat b;
        int r = HostFiles.fstat(_fd, &b);
        st = b;
        return r < 0 ? HostFiles.Neg() : 0;
    }

    private long SizeOfHost()
    {
        int err = HostStat(out var st);
        return err < 0 ? err : st.Size;
    }

    private unsafe long PReadHost(Span<byte> destination, long offset)
    {
        fixed (byte* p = destination)
        {
            while (true)
            {
                nint n = HostFiles.pread(_fd, p, destination.Length, offset);
                if (n >= 0) return n;
                int e = HostFiles.Neg();
                if (e != -Errno.EINTR) return e;
            }
        }
    }

    private unsafe long PWriteHost(ReadOnlySpan<byte> source, long offset)
    {
        if (Space != null && source.Length > 0)
        {
            // tmpfs size=: a write stops at the first page that does not fit (ENOSPC if none does).
            long allowed = Space.AllowWrite(_fd, offset, source.Length);
            if (allowed < 0) return allowed;
            source = source[..(int)allowed];
        }
        long total = 0;
        fixed (byte* p = source)
        {
            while (total < source.Length)
            {
                nint n = HostFiles.pwrite(_fd, p + total, (nint)(source.Length - total), offset + total);
                if (n < 0)
                {
                    int e = HostFiles.Neg();
                    if (e == -Errno.EINTR) continue;
                    if (total > 0) break;
                    return e;
                }
                if (n == 0) break;
                total += n;
            }
        }
        if (total > 0) Written?.Invoke();
        return total;
    }
}
