using System.Buffers;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Inotify;
using RunscNet.Sentry.Vfs.Pipe;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// File-descriptor system calls: opening and closing, I/O (read/write and the vectored and
/// positional forms), lseek, the dup family, fcntl, ioctl, fstat, getdents, sync, truncate.
/// Each handler documents the man-page semantics it implements.
/// </summary>
internal static partial class FileSyscalls
{
    /// <summary>Largest chunk moved through a Sentry buffer at once.</summary>
    private const int ChunkSize = 1 << 20;
    /// <summary>UIO_MAXIOV.</summary>
    private const int MaxIov = 1024;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(0, "read", Read);
        t.Supported(1, "write", Write);
        t.Supported(2, "open", Open);
        t.Supported(3, "close", Close);
        t.Supported(5, "fstat", Fstat);
        t.Supported(8, "lseek", Lseek);
        t.Partial(16, "ioctl", Ioctl, "Generic fd requests, FIONREAD, and tty requests on host terminals (termios passed through).");
        t.Supported(17, "pread64", Pread64);
        t.Supported(18, "pwrite64", Pwrite64);
        t.Supported(19, "readv", Readv);
        t.Supported(20, "writev", Writev);
        t.Supported(32, "dup", Dup);
        t.Supported(33, "dup2", Dup2);
        t.Partial(40, "sendfile", Sendfile, "Copies through a Sentry buffer.");
        t.Partial(72, "fcntl", Fcntl, "No deadlock detection (EDEADLK); leases and seals are not supported; O_ASYNC sends no SIGIO (F_NOTIFY does).");
        t.Supported(73, "flock", Flock);
        t.Supported(74, "fsync", Fsync);
        t.Supported(75, "fdatasync", Fdatasync);
        t.Supported(77, "ftruncate", Ftruncate);
        t.Supported(78, "getdents", Getdents);
        t.Supported(85, "creat", Creat);
        t.Supported(91, "fchmod", Fchmod);
        t.Supported(93, "fchown", Fchown);
        t.Supported(162, "sync", Sync);
        t.Supported(187, "readahead", Readahead);
        t.Supported(217, "getdents64", Getdents64);
        t.Supported(221, "fadvise64", Fadvise64);
        t.Supported(257, "openat", Openat);
        t.Partial(275, "splice", Splice, "Copies through a Sentry buffer; SPLICE_F_* flags ignored.");
        t.Supported(276, "tee", Tee);
        t.Supported(277, "sync_file_range", SyncFileRange);
        t.Partial(285, "fallocate", Fallocate, "Passed to the host file for gofer and tmpfs files.");
        t.Supported(292, "dup3", Dup3);
        t.Supported(295, "preadv", Preadv);
        t.Supported(296, "pwritev", Pwritev);
        t.Supported(306, "syncfs", Syncfs);
        t.Partial(319, "memfd_create", MemfdCreate, "MFD_HUGETLB is refused (EINVAL); seals as Linux (fcntl F_ADD_SEALS).");
        t.Partial(326, "copy_file_range", CopyFileRange, "Copies through a Sentry buffer.");
        t.Partial(327, "preadv2", Preadv2, "RWF_* flags accepted and ignored.");
        t.Partial(328, "pwritev2", Pwritev2, "RWF_* flags accepted and ignored except RWF_APPEND.");
        t.Supported(436, "close_range", CloseRange);
        t.Partial(437, "openat2", Openat2, "RESOLVE_* flags other than RESOLVE_NO_SYMLINKS are ignored.");
    }

    // ---- helpers -------------------------------------------------------------------------

    /// <summary>The file of <paramref name="fd"/> or null (the caller returns EBADF).</summary>
    internal static FileDescription? File(Task t, ulong fd) => t.Fds.Get((int)fd);

    /// <summary>
    /// Runs <paramref name="op"/> on the file of <paramref name="fd"/> holding a reference for the
    /// whole call (a concurrent close by another thread cannot release it underneath); EBADF if
    /// the fd is not open.
    /// </summary>
    internal static long WithFile(Task t, ulong fd, Func<FileDescription, long> op)
    {
        var f = t.Fds.GetRef((int)fd);
        if (f == null) return -Errno.EBADF;
        try
        {
            return op(f);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Reads a path argument (PATH_MAX including the NUL).</summary>
    internal static int Path(Task t, ulong address, out string path)
    {
        int err = t.Memory.CopyInString(address, PathConsts.PATH_MAX, out path);
        return err;
    }

    /// <summary>Reads up to <paramref name="count"/> bytes from <paramref name="f"/> into application memory (IN_ACCESS when data came).</summary>
    internal static long ReadInto(Task t, FileDescription f, ulong address, long count, long offset = -1)
    {
        long r = ReadIntoCore(t, f, address, count, offset);
        if (r > 0) FsNotify.Accessed(f);
        return r;
    }

    private static long ReadIntoCore(Task t, FileDescription f, ulong address, long count, long offset)
    {
        if (count < 0) return -Errno.EINVAL;
        if (count == 0) return f.Readable ? (offset < 0 ? f.Read(t, Span<byte>.Empty) : f.PRead(t, Span<byte>.Empty, offset)) : -Errno.EBADF;
        int size = (int)Math.Min(count, ChunkSize);
        byte[] buf = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            long total = 0;
            bool loop = f is HostRegularFile;
            while (total < count)
            {
                int want = (int)Math.Min(size, count - total);
                long n = offset < 0 ? f.Read(t, buf.AsSpan(0, want)) : f.PRead(t, buf.AsSpan(0, want), offset + total);
                if (n < 0) return total > 0 ? total : n;
                if (n > 0)
                {
                    int err = t.Memory.CopyOut(address + (ulong)total, buf.AsSpan(0, (int)n));
                    if (err != 0) return total > 0 ? total : err;
                }
                total += n;
                if (!loop || n < want) break;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Writes <paramref name="count"/> bytes of application memory to <paramref name="f"/> (IN_MODIFY when data went).</summary>
    internal static long WriteFrom(Task t, FileDescription f, ulong address, long count, long offset = -1)
    {
        long r = WriteFromCore(t, f, address, count, offset);
        if (r > 0) FsNotify.Modified(f);
        return r;
    }

    private static long WriteFromCore(Task t, FileDescription f, ulong address, long count, long offset)
    {
        if (count < 0) return -Errno.EINVAL;
        if (count == 0) return f.Writable ? (offset < 0 ? f.Write(t, ReadOnlySpan<byte>.Empty) : f.PWrite(t, ReadOnlySpan<byte>.Empty, offset)) : -Errno.EBADF;
        int size = (int)Math.Min(count, ChunkSize);
        byte[] buf = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            long total = 0;
            while (total < count)
            {
                int want = (int)Math.Min(size, count - total);
                int err = t.Memory.CopyIn(address + (ulong)total, buf.AsSpan(0, want));
                if (err != 0) return total > 0 ? total : err;
                long n = offset < 0 ? f.Write(t, buf.AsSpan(0, want)) : f.PWrite(t, buf.AsSpan(0, want), offset + total);
                if (n < 0) return total > 0 ? total : n;
                total += n;
                if (n < want) break;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Reads an iovec array; EINVAL for more than UIO_MAXIOV entries or an overflowing total.</summary>
    internal static int ReadIovecs(Task t, ulong address, long count, out (ulong Base, long Len)[] iovs, out long total)
    {
        iovs = Array.Empty<(ulong, long)>();
        total = 0;
        if (count < 0 || count > MaxIov) return -Errno.EINVAL;
        var raw = new byte[count * 16];
        int err = t.Memory.CopyIn(address, raw);
        if (err != 0) return err;
        iovs = new (ulong, long)[count];
        for (int i = 0; i < count; i++)
        {
            ulong b = BitConverter.ToUInt64(raw, i * 16);
            long l = BitConverter.ToInt64(raw, i * 16 + 8);
            if (l < 0) return -Errno.EINVAL;
            total += l;
            if (total < 0 || total > int.MaxValue) return -Errno.EINVAL;
            iovs[i] = (b, l);
        }
        return 0;
    }

    private static long VectorRead(Task t, FileDescription f, ulong iovAddr, long iovCnt, long offset)
    {
        long r = VectorReadCore(t, f, iovAddr, iovCnt, offset);
        if (r > 0) FsNotify.Accessed(f);
        return r;
    }

    private static long VectorReadCore(Task t, FileDescription f, ulong iovAddr, long iovCnt, long offset)
    {
        if (!f.Readable) return -Errno.EBADF;
        int err = ReadIovecs(t, iovAddr, iovCnt, out var iovs, out long total);
        if (err != 0) return err;
        if (total == 0) return 0;
        byte[] buf = ArrayPool<byte>.Shared.Rent((int)Math.Min(total, ChunkSize));
        try
        {
            long done = 0;
            foreach (var (b, len) in iovs)
            {
                long pos = 0;
                while (pos < len)
                {
                    int want = (int)Math.Min(buf.Length, len - pos);
                    long n = offset < 0 ? f.Read(t, buf.AsSpan(0, want)) : f.PRead(t, buf.AsSpan(0, want), offset + done);
                    if (n < 0) return done > 0 ? done : n;
                    if (n > 0 && t.Memory.CopyOut(b + (ulong)pos, buf.AsSpan(0, (int)n)) != 0) return done > 0 ? done : -Errno.EFAULT;
                    pos += n;
                    done += n;
                    if (n < want) return done;
                }
            }
            return done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    private static long VectorWrite(Task t, FileDescription f, ulong iovAddr, long iovCnt, long offset)
    {
        long r = VectorWriteCore(t, f, iovAddr, iovCnt, offset);
        if (r > 0) FsNotify.Modified(f);
        return r;
    }

    private static long VectorWriteCore(Task t, FileDescription f, ulong iovAddr, long iovCnt, long offset)
    {
        if (!f.Writable) return -Errno.EBADF;
        int err = ReadIovecs(t, iovAddr, iovCnt, out var iovs, out long total);
        if (err != 0) return err;
        if (total == 0) return 0;
        // Gather into one buffer so a pipe write of <= PIPE_BUF stays atomic.
        byte[] buf = new byte[total];
        long pos = 0;
        foreach (var (b, len) in iovs)
        {
            if (t.Memory.CopyIn(b, buf.AsSpan((int)pos, (int)len)) != 0) return -Errno.EFAULT;
            pos += len;
        }
        return offset < 0 ? f.Write(t, buf) : f.PWrite(t, buf, offset);
    }

    // ---- read / write ------------------------------------------------------------------

    /// <summary>read(2): reads up to count bytes at the file offset; EBADF if not open for reading, EISDIR for directories.</summary>
    private static long Read(Task t, in SyscallArguments a)
    {
        var args = a;
        return WithFile(t, a.A0, f => f.Readable ? ReadInto(t, f, args.A1, (long)args.A2) : -Errno.EBADF);
    }

    /// <summary>write(2): writes count bytes at the file offset (at the end with O_APPEND); EPIPE on a pipe without readers.</summary>
    private static long Write(Task t, in SyscallArguments a)
    {
        var args = a;
        return WithFile(t, a.A0, f => f.Writable ? WriteFrom(t, f, args.A1, (long)args.A2) : -Errno.EBADF);
    }

    /// <summary>pread64(2): reads at an offset without moving the file offset; ESPIPE on pipes, EINVAL for a negative offset.</summary>
    private static long Pread64(Task t, in SyscallArguments a)
    {
        var args = a;
        if ((long)a.A3 < 0) return File(t, a.A0) == null ? -Errno.EBADF : -Errno.EINVAL;
        return WithFile(t, a.A0, f => f.Readable ? ReadInto(t, f, args.A1, (long)args.A2, (long)args.A3) : -Errno.EBADF);
    }

    /// <summary>pwrite64(2): writes at an offset without moving the file offset.</summary>
    private static long Pwrite64(Task t, in SyscallArguments a)
    {
        var args = a;
        if ((long)a.A3 < 0) return File(t, a.A0) == null ? -Errno.EBADF : -Errno.EINVAL;
        return WithFile(t, a.A0, f => f.Writable ? WriteFrom(t, f, args.A1, (long)args.A2, (long)args.A3) : -Errno.EBADF);
    }

    /// <summary>readv(2): scatter read into iovcnt buffers (at most 1024).</summary>
    private static long Readv(Task t, in SyscallArguments a)
    {
        var args = a;
        return WithFile(t, a.A0, f => VectorRead(t, f, args.A1, (long)args.A2, -1));
    }

    /// <summary>writev(2): gather write from iovcnt buffers, as one write.</summary>
    private static long Writev(Task t, in SyscallArguments a)
    {
        var args = a;
        return WithFile(t, a.A0, f => VectorWrite(t, f, args.A1, (long)args.A2, -1));
    }

    /// <summary>preadv(2): readv at an offset (pos_l in the fourth argument).</summary>
    private static long Preadv(Task t, in SyscallArguments a)
    {
        var args = a;
        if ((long)a.A3 < 0) return File(t, a.A0) == null ? -Errno.EBADF : -Errno.EINVAL;
        return WithFile(t, a.A0, f => VectorRead(t, f, args.A1, (long)args.A2, (long)args.A3));
    }

    /// <summary>pwritev(2): writev at an offset.</summary>
    private static long Pwritev(Task t, in SyscallArguments a)
    {
        var args = a;
        if ((long)a.A3 < 0) return File(t, a.A0) == null ? -Errno.EBADF : -Errno.EINVAL;
        return WithFile(t, a.A0, f => VectorWrite(t, f, args.A1, (long)args.A2, (long)args.A3));
    }

    /// <summary>preadv2(2): like preadv; offset -1 uses and advances the file offset.</summary>
    private static long Preadv2(Task t, in SyscallArguments a)
    {
        var args = a;
        if ((long)a.A3 < -1) return File(t, a.A0) == null ? -Errno.EBADF : -Errno.EINVAL;
        return WithFile(t, a.A0, f => VectorRead(t, f, args.A1, (long)args.A2, (long)args.A3));
    }

    /// <summary>pwritev2(2): like pwritev; offset -1 uses the file offset.</summary>
    private static long Pwritev2(Task t, in SyscallArguments a)
    {
        var args = a;
        if ((long)a.A3 < -1) return File(t, a.A0) == null ? -Errno.EBADF : -Errno.EINVAL;
        return WithFile(t, a.A0, f => VectorWrite(t, f, args.A1, (long)args.A2, (long)args.A3));
    }

    /// <summary>lseek(2): SEEK_SET/CUR/END (and SEEK_DATA/HOLE for host-backed files); ESPIPE on pipes and sockets.</summary>
    private static long Lseek(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        int whence = (int)a.A2;
        if (whence < 0 || whence > 4) return -Errno.EINVAL;
        return f.Seek(t, (long)a.A1, whence);
    }

    // ---- open / close ------------------------------------------------------------------

    /// <summary>Opens and installs an fd; the common tail of open/openat/creat/openat2.</summary>
    internal static long DoOpen(Task t, int dirfd, ulong pathAddr, int flags, uint mode)
    {
        int err = Path(t, pathAddr, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.Open(t, dirfd, path, flags, mode, out var file);
        if (err != 0) return err;
        return t.Fds.InstallNew(file!, (flags & OpenFlags.O_CLOEXEC) != 0);
    }

    /// <summary>open(2): see openat with AT_FDCWD.</summary>
    private static long Open(Task t, in SyscallArguments a) => DoOpen(t, PathConsts.AT_FDCWD, a.A0, (int)a.A1, (uint)a.A2);

    /// <summary>openat(2): opens a path relative to dirfd; O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_NOFOLLOW/O_CLOEXEC/O_PATH; O_TMPFILE gives EOPNOTSUPP.</summary>
    private static long Openat(Task t, in SyscallArguments a) => DoOpen(t, (int)a.A0, a.A1, (int)a.A2, (uint)a.A3);

    /// <summary>creat(2): open with O_CREAT|O_WRONLY|O_TRUNC.</summary>
    private static long Creat(Task t, in SyscallArguments a)
        => DoOpen(t, PathConsts.AT_FDCWD, a.A0, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, (uint)a.A1);

    /// <summary>openat2(2): struct open_how {flags, mode, resolve}; unknown flags/mode bits give EINVAL; E2BIG for an unknown larger struct.</summary>
    private static long Openat2(Task t, in SyscallArguments a)
    {
        ulong size = a.A3;
        if (size < 24) return -Errno.EINVAL;
        if (size > 4096) return -Errno.E2BIG;
        var how = new byte[size];
        int err = t.Memory.CopyIn(a.A2, how);
        if (err != 0) return err;
        for (ulong i = 24; i < size; i++) if (how[i] != 0) return -Errno.E2BIG;
        ulong flags = BitConverter.ToUInt64(how, 0);
        ulong mode = BitConverter.ToUInt64(how, 8);
        ulong resolve = BitConverter.ToUInt64(how, 16);
        if ((flags >> 32) != 0 || (mode & ~0xfffUL) != 0 || (resolve & ~0x3fUL) != 0) return -Errno.EINVAL;
        if ((flags & (OpenFlags.O_CREAT | 0x400000 /* __O_TMPFILE */)) == 0 && mode != 0) return -Errno.EINVAL;
        int f = (int)flags;
        if ((resolve & 0x04) != 0) f |= OpenFlags.O_NOFOLLOW; // RESOLVE_NO_SYMLINKS (final component only here)
        return DoOpen(t, (int)a.A0, a.A1, f, (uint)mode);
    }

    /// <summary>close(2); the record locks of the fd table on the file go with any close of it (FdTable.Drop).</summary>
    private static long Close(Task t, in SyscallArguments a)
    {
        return t.Fds.Close((int)a.A0);
    }

    /// <summary>close_range(2): CLOSE_RANGE_UNSHARE (2, the table is already private) and CLOSE_RANGE_CLOEXEC (4); EINVAL if first &gt; last.</summary>
    private static long CloseRange(Task t, in SyscallArguments a)
    {
        uint first = (uint)a.A0, last = (uint)a.A1, flags = (uint)a.A2;
        if ((flags & ~6u) != 0 || first > last) return -Errno.EINVAL;
        t.Fds.CloseRange(first, last, (flags & 4) != 0);
        return 0;
    }

    // ---- dup / fcntl -------------------------------------------------------------------

    /// <summary>dup(2): lowest free fd; EMFILE at the limit.</summary>
    private static long Dup(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        return f == null ? -Errno.EBADF : t.Fds.Install(f, false);
    }

    /// <summary>dup2(2): newfd == oldfd returns it if valid; otherwise newfd is closed and replaced, FD_CLOEXEC cleared.</summary>
    private static long Dup2(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if ((int)a.A0 == (int)a.A1) return (int)a.A1;
        return t.Fds.InstallAt((int)a.A1, f, false);
    }

    /// <summary>dup3(2): like dup2 with O_CLOEXEC; EINVAL when oldfd == newfd or for other flags.</summary>
    private static long Dup3(Task t, in SyscallArguments a)
    {
        int flags = (int)a.A2;
        if ((flags & ~OpenFlags.O_CLOEXEC) != 0) return -Errno.EINVAL;
        if ((int)a.A0 == (int)a.A1) return -Errno.EINVAL;
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        return t.Fds.InstallAt((int)a.A1, f, flags != 0);
    }

    /// <summary>
    /// fcntl(2): F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL (O_APPEND, O_NONBLOCK,
    /// O_ASYNC, O_DIRECT, O_NOATIME changeable), F_GETLK/F_SETLK/F_SETLKW and OFD variants
    /// (advisory, not enforced: F_GETLK reports F_UNLCK), F_GETOWN/F_SETOWN, F_SETPIPE_SZ/F_GETPIPE_SZ,
    /// F_ADD_SEALS/F_GET_SEALS (tmpfs and memfd files only, else EINVAL).
    /// </summary>
    private static long Fcntl(Task t, in SyscallArguments a)
    {
        int fd = (int)a.A0;
        int cmd = (int)a.A1;
        var f = t.Fds.Get(fd, out bool cloexec);
        if (f == null) return -Errno.EBADF;
        bool isPath = (f.StatusFlags & OpenFlags.O_PATH) != 0;
        switch (cmd)
        {
            case 0: // F_DUPFD
            case 1030: // F_DUPFD_CLOEXEC
                if ((int)a.A2 < 0) return -Errno.EINVAL;
                return t.Fds.Install(f, cmd == 1030, (int)a.A2);
            case 1: return cloexec ? 1 : 0; // F_GETFD
            case 2: return t.Fds.SetCloseOnExec(fd, (a.A2 & 1) != 0); // F_SETFD
            case 3: return f.StatusFlags; // F_GETFL
            case 4: // F_SETFL
                if (isPath) return -Errno.EBADF;
                f.StatusFlags = (f.StatusFlags & ~OpenFlags.SettableStatusFlags) | ((int)a.A2 & OpenFlags.SettableStatusFlags);
                f.StatusFlagsChanged();
                return 0;
            case 5: // F_GETLK
            case 36: // F_OFD_GETLK
            case 6: case 7: case 37: case 38: // F_SETLK, F_SETLKW, F_OFD_SETLK(W)
                return RecordLock(t, f, cmd, a.A2);
            case 8: // F_SETOWN: a negative value is a process group
                {
                    int who = (int)a.A2;
                    if (who == int.MinValue) return -Errno.EINVAL;
                    return who < 0 ? FileSignals.SetOwner(t.Kernel, f, FileSignals.F_OWNER_PGRP, -who)
                        : FileSignals.SetOwner(t.Kernel, f, FileSignals.F_OWNER_PID, who);
                }
            case 9: // F_GETOWN
                return FileSignals.Owner(f);
            case 15: // F_SETOWN_EX: struct f_owner_ex {int type; pid_t pid;}
                {
                    if (t.Memory.CopyInStruct(a.A2, out long ex) != 0) return -Errno.EFAULT;
                    return FileSignals.SetOwner(t.Kernel, f, (int)ex, (int)(ex >> 32));
                }
            case 16: // F_GETOWN_EX
                {
                    var (type, id) = FileSignals.OwnerEx(f);
                    return t.Memory.CopyOutStruct(a.A2, (long)(uint)type | ((long)id << 32)) != 0 ? -Errno.EFAULT : 0;
                }
            case 10: return FileSignals.SetSignal(f, (int)a.A2); // F_SETSIG
            case 11: return FileSignals.Signal(f); // F_GETSIG
            case 1026: // F_NOTIFY
                if (isPath) return -Errno.EBADF;
                return Vfs.Inotify.Dnotify.Set(t, fd, f, (uint)a.A2);
            case 1025: return 2; // F_GETLEASE: F_UNLCK
            case 1031: // F_SETPIPE_SZ
                return f is PipeFile p ? p.Pipe.SetCapacity((long)a.A2) : -Errno.EBADF;
            case 1032: // F_GETPIPE_SZ
                return f is PipeFile p2 ? p2.Pipe.Capacity : -Errno.EBADF;
            case 1033: // F_ADD_SEALS
            case 1034: // F_GET_SEALS
                return isPath ? -Errno.EBADF : Seals(f, cmd == 1033, (int)a.A2);
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>
    /// F_ADD_SEALS/F_GET_SEALS (memfd_fcntl): only a regular tmpfs (shmem) file has seals; any
    /// other file (a pipe, a socket, a file of another file system) gives EINVAL. Adding needs a
    /// description open for writing (EPERM first, as Linux checks it before the file's kind).
    /// </summary>
    private static long Seals(FileDescription f, bool add, int seals)
    {
        if (add && !f.Writable) return -Errno.EPERM;
        if (f.Inode is not Vfs.Tmpfs.TmpfsInode ti || !LinuxMode.IsReg(ti.Mode)
            || ti.FileSystem is not Vfs.Tmpfs.TmpfsFileSystem { TypeName: "tmpfs" })
            return -Errno.EINVAL;
        return add ? ti.AddSeals(seals) : ti.Seals;
    }

    /// <summary>flock(2): LOCK_SH/LOCK_EX/LOCK_UN (+LOCK_NB: EWOULDBLOCK), owned by the open file description.</summary>
    private static long Flock(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null || (f.StatusFlags & OpenFlags.O_PATH) != 0) return -Errno.EBADF;
        // LOCK_MAND (Samba's mandatory share modes) is no longer supported: Linux warns and returns 0.
        if ((a.A1 & 32) != 0) return 0;
        return Vfs.Locks.FileLocks.Flock(t, f, (int)a.A1);
    }

    /// <summary>
    /// fcntl record locks (struct flock: l_type, l_whence, l_start, l_len, l_pid): process-owned
    /// for F_GETLK/F_SETLK(W), description-owned for the F_OFD_* commands (l_pid must be 0).
    /// EBADF when the access mode does not allow the lock type; EAGAIN (or a wait) on conflict.
    /// </summary>
    private static long RecordLock(Task t, FileDescription f, int cmd, ulong addr)
    {
        if ((f.StatusFlags & OpenFlags.O_PATH) != 0) return -Errno.EBADF;
        var flock = new byte[32];
        int err = t.Memory.CopyIn(addr, flock);
        if (err != 0) return err;
        short type = BitConverter.ToInt16(flock, 0);
        short whence = BitConverter.ToInt16(flock, 2);
        long start = BitConverter.ToInt64(flock, 8), len = BitConverter.ToInt64(flock, 16);
        if (type is < 0 or > 2) return -Errno.EINVAL;
        bool ofd = cmd >= 36 && cmd <= 38;
        if (ofd && BitConverter.ToInt32(flock, 24) != 0) return -Errno.EINVAL;
        if (f.Inode is not { } inode) return -Errno.EINVAL;
        long basis = whence switch { 0 => 0, 1 => f.Seek(t, 0, 1), 2 => f.Stat(out var st) == 0 ? st.Size : -1, _ => -2 };
        if (basis == -2) return -Errno.EINVAL;
        if (basis < 0) basis = 0;
        long s0 = basis + start, end;
        if (len > 0) end = s0 + len;
        else if (len == 0) end = long.MaxValue;
        else { end = s0; s0 += len; }
        if (s0 < 0) return -Errno.EINVAL;
        var describe = Vfs.Proc.ProcFileSystem.Describe(t);
        // Linux's owner of a POSIX lock is the table of open files (shared by threads and CLONE_FILES).
        object owner = ofd ? f : t.Fds;
        int pid = ofd ? -1 : describe.Pid;
        if (cmd == 5 || cmd == 36)
        {
            var c = Vfs.Locks.FileLocks.Test(inode, owner, type == 0 ? 0 : 1, s0, end);
            if (c is not { } k)
            {
                BitConverter.TryWriteBytes(flock.AsSpan(0), (short)2);
            }
            else
            {
                BitConverter.TryWriteBytes(flock.AsSpan(0), (short)k.Type);
                BitConverter.TryWriteBytes(flock.AsSpan(2), (short)0);
                BitConverter.TryWriteBytes(flock.AsSpan(8), k.Start);
                BitConverter.TryWriteBytes(flock.AsSpan(16), k.End == long.MaxValue ? 0 : k.End - k.Start);
                BitConverter.TryWriteBytes(flock.AsSpan(24), k.Pid);
            }
            return t.Memory.CopyOut(addr, flock);
        }
        if (type == 0 && !f.Readable) return -Errno.EBADF;
        if (type == 1 && !f.Writable) return -Errno.EBADF;
        return Vfs.Locks.FileLocks.SetRange(t, inode, owner, pid, type, s0, end, cmd == 7 || cmd == 38);
    }

    /// <summary>
    /// ioctl(2): FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC for any fd; everything else goes to the file
    /// (FIONREAD; tty requests on terminals). ENOTTY for unknown requests.
    /// </summary>
    private static long Ioctl(Task t, in SyscallArguments a)
    {
        int fd = (int)a.A0;
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if ((f.StatusFlags & OpenFlags.O_PATH) != 0) return -Errno.EBADF;
        uint req = (uint)a.A1;
        switch (req)
        {
            case 0x5421: // FIONBIO
                {
                    int err = t.Memory.CopyInStruct(a.A2, out int on);
                    if (err != 0) return err;
                    f.StatusFlags = on != 0 ? f.StatusFlags | OpenFlags.O_NONBLOCK : f.StatusFlags & ~OpenFlags.O_NONBLOCK;
                    f.StatusFlagsChanged();
                    return 0;
                }
            case 0x5452: // FIOASYNC
                {
                    int err = t.Memory.CopyInStruct(a.A2, out int on);
                    if (err != 0) return err;
                    f.StatusFlags = on != 0 ? f.StatusFlags | OpenFlags.O_ASYNC : f.StatusFlags & ~OpenFlags.O_ASYNC;
                    return 0;
                }
            case 0x5451: return t.Fds.SetCloseOnExec(fd, true); // FIOCLEX
            case 0x5450: return t.Fds.SetCloseOnExec(fd, false); // FIONCLEX
            default: return f.Ioctl(t, req, a.A2);
        }
    }

    // ---- metadata ----------------------------------------------------------------------

    /// <summary>Converts attributes to the x86-64 struct stat.</summary>
    internal static LinuxStat ToStat(in InodeAttr s) => new()
    {
        Dev = s.Dev, Ino = s.Ino, Nlink = s.Nlink, Mode = s.Mode, Uid = Kernel.UserNamespace.Shown(s.Uid), Gid = Kernel.UserNamespace.Shown(s.Gid), Rdev = s.Rdev,
        Size = s.Size, Blksize = s.BlockSize == 0 ? 4096 : s.BlockSize, Blocks = s.Blocks,
        AtimeSec = FloorDiv(s.AtimeNs), AtimeNsec = FloorMod(s.AtimeNs),
        MtimeSec = FloorDiv(s.MtimeNs), MtimeNsec = FloorMod(s.MtimeNs),
        CtimeSec = FloorDiv(s.CtimeNs), CtimeNsec = FloorMod(s.CtimeNs),
    };

    private static long FloorDiv(long ns) => ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000;
    private static long FloorMod(long ns) => ns - FloorDiv(ns) * 1_000_000_000;

    /// <summary>fstat(2).</summary>
    private static long Fstat(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        int err = f.Stat(out var attr);
        if (err != 0) return err;
        return t.Memory.CopyOutStruct(a.A1, ToStat(attr));
    }

    /// <summary>fchmod(2): EBADF for O_PATH fds; see chmod.</summary>
    private static long Fchmod(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null || (f.StatusFlags & OpenFlags.O_PATH) != 0) return -Errno.EBADF;
        if (f.Location is not { } loc) return -Errno.EINVAL;
        return t.Kernel.Vfs.SetAttr(t, loc, new SetAttrRequest { Mask = SetAttrMask.Mode, Mode = (uint)a.A1 & LinuxMode.PermMask });
    }

    /// <summary>fchown(2): -1 leaves an id unchanged.</summary>
    private static long Fchown(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null || (f.StatusFlags & OpenFlags.O_PATH) != 0) return -Errno.EBADF;
        if (f.Location is not { } loc) return -Errno.EINVAL;
        return PathSyscalls.Chown(t, loc, (uint)a.A1, (uint)a.A2);
    }

    /// <summary>ftruncate(2): EINVAL unless open for writing on a regular file, EINVAL for a negative length.</summary>
    private static long Ftruncate(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if ((long)a.A1 < 0) return -Errno.EINVAL;
        if (!f.Writable) return -Errno.EINVAL;
        int r = f.Truncate(t, (long)a.A1);
        if (r == 0 && f.Location is { } loc) FsNotify.AttributesChanged(loc, SetAttrMask.Size | SetAttrMask.MtimeNow);
        return r;
    }

    /// <summary>fallocate(2): mode 0 and FALLOC_FL_KEEP_SIZE/PUNCH_HOLE passed to host-backed files; EBADF unless writable.</summary>
    private static long Fallocate(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if ((long)a.A2 < 0 || (long)a.A3 <= 0) return -Errno.EINVAL;
        if (!f.Writable) return -Errno.EBADF;
        if (f.Inode is { } inode && inode.IsDirectory) return -Errno.EISDIR;
        return f.Allocate(t, (int)a.A1, (long)a.A2, (long)a.A3);
    }

    /// <summary>fsync(2).</summary>
    private static long Fsync(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        return f == null ? -Errno.EBADF : f.Sync(t, false);
    }

    /// <summary>fdatasync(2).</summary>
    private static long Fdatasync(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        return f == null ? -Errno.EBADF : f.Sync(t, true);
    }

    /// <summary>sync_file_range(2): validated, then a data sync.</summary>
    private static long SyncFileRange(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if ((long)a.A1 < 0 || (long)a.A2 < 0 || (a.A3 & ~7UL) != 0) return -Errno.EINVAL;
        return f.Sync(t, true) is var r && r == -Errno.EINVAL ? 0 : r;
    }

    /// <summary>sync(2): writes go straight to host fds, so nothing is buffered in the Sentry.</summary>
    private static long Sync(Task t, in SyscallArguments a) => 0;

    /// <summary>syncfs(2): EBADF for a bad fd; otherwise nothing to flush.</summary>
    private static long Syncfs(Task t, in SyscallArguments a) => File(t, a.A0) == null ? -Errno.EBADF : 0;

    /// <summary>fadvise64(2): advice is validated and ignored; ESPIPE on pipes.</summary>
    private static long Fadvise64(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if (f is PipeFile) return -Errno.ESPIPE;
        return (int)a.A3 is >= 0 and <= 5 ? 0 : -Errno.EINVAL;
    }

    /// <summary>readahead(2): EBADF/EINVAL checks only.</summary>
    private static long Readahead(Task t, in SyscallArguments a)
    {
        var f = File(t, a.A0);
        if (f == null || !f.Readable) return -Errno.EBADF;
        return f is HostRegularFile ? 0 : -Errno.EINVAL;
    }

    // ---- directories -------------------------------------------------------------------

    /// <summary>getdents64(2): struct linux_dirent64 records; EINVAL if the buffer cannot hold one entry.</summary>
    private static long Getdents64(Task t, in SyscallArguments a) => Getdents(t, a, wide: true);

    /// <summary>getdents(2): the old struct linux_dirent (d_type in the last byte).</summary>
    private static long Getdents(Task t, in SyscallArguments a) => Getdents(t, a, wide: false);

    private static long Getdents(Task t, in SyscallArguments a, bool wide)
    {
        var args = a;
        return WithFile(t, a.A0, f => Getdents(t, f, args, wide));
    }

    private static long Getdents(Task t, FileDescription f, in SyscallArguments a, bool wide)
    {
        int cap = (int)Math.Min(a.A2, 1 << 20);
        var buf = new byte[cap];
        int used = 0;
        int err = f.ReadDir(t, (e, off) =>
        {
            byte[] name = LinuxText.Encode(e.Name);
            int reclen = wide ? (19 + name.Length + 1 + 7) & ~7 : (18 + name.Length + 2 + 7) & ~7;
            if (used + reclen > cap) return false;
            var rec = buf.AsSpan(used, reclen);
            rec.Clear();
            BitConverter.TryWriteBytes(rec[0..8], e.Ino);
            BitConverter.TryWriteBytes(rec[8..16], off);
            BitConverter.TryWriteBytes(rec[16..18], (ushort)reclen);
            if (wide)
            {
                rec[18] = e.Type;
                name.CopyTo(rec[19..]);
            }
            else
            {
                name.CopyTo(rec[18..]);
                rec[reclen - 1] = e.Type;
            }
            used += reclen;
            return true;
        });
        if (err != 0) return err;
        if (used == 0 && cap > 0)
        {
            // Nothing fitted: either the end (0) or a too-small buffer (EINVAL).
            bool more = false;
            f.ReadDir(t, (e, off) => { more = true; return false; });
            if (more) return -Errno.EINVAL;
        }
        err = t.Memory.CopyOut(a.A1, buf.AsSpan(0, used));
        return err != 0 ? err : used;
    }

    // ---- copying between files ---------------------------------------------------------

    private static long CopyBetween(Task t, FileDescription src, long srcOff, FileDescription dst, long dstOff, long count, out long srcAdvance)
    {
        srcAdvance = 0;
        var buf = new byte[(int)Math.Min(Math.Max(count, 0), ChunkSize)];
        long total = 0;
        while (total < count)
        {
            int want = (int)Math.Min(buf.Length, count - total);
            long n = srcOff >= 0 ? src.PRead(t, buf.AsSpan(0, want), srcOff + total) : src.Read(t, buf.AsSpan(0, want));
            if (n < 0) return total > 0 ? total : n;
            if (n == 0) break;
            long w = dstOff >= 0 ? dst.PWrite(t, buf.AsSpan(0, (int)n), dstOff + total) : dst.Write(t, buf.AsSpan(0, (int)n));
            if (w < 0) return total > 0 ? total : w;
            total += w;
            srcAdvance = total;
            if (w < n || n < want) break;
        }
        return total;
    }

    /// <summary>sendfile(2): copies from in_fd (at *offset if given, which is updated) to out_fd.</summary>
    private static long Sendfile(Task t, in SyscallArguments a)
    {
        var outF = File(t, a.A0);
        var inF = File(t, a.A1);
        if (outF == null || inF == null || !inF.Readable || !outF.Writable) return -Errno.EBADF;
        if ((outF.StatusFlags & OpenFlags.O_APPEND) != 0) return -Errno.EINVAL;
        long count = (long)a.A3;
        if (count < 0) return -Errno.EINVAL;
        long off = -1;
        if (a.A2 != 0)
        {
            int err = t.Memory.CopyInStruct(a.A2, out off);
            if (err != 0) return err;
            if (off < 0) return -Errno.EINVAL;
        }
        long n = CopyBetween(t, inF, off, outF, -1, count, out _);
        if (n > 0 && a.A2 != 0)
        {
            int err = t.Memory.CopyOutStruct(a.A2, off + n);
            if (err != 0) return err;
        }
        return n;
    }

    /// <summary>copy_file_range(2): copies between regular files (offsets optional and updated); EINVAL for flags.</summary>
    private static long CopyFileRange(Task t, in SyscallArguments a)
    {
        if (a.A5 != 0) return -Errno.EINVAL;
        var inF = File(t, a.A0);
        var outF = File(t, a.A2);
        if (inF == null || outF == null || !inF.Readable || !outF.Writable) return -Errno.EBADF;
        if ((outF.StatusFlags & OpenFlags.O_APPEND) != 0) return -Errno.EBADF;
        if (inF.Inode?.IsDirectory == true || outF.Inode?.IsDirectory == true) return -Errno.EISDIR;
        long inOff = -1, outOff = -1;
        if (a.A1 != 0 && t.Memory.CopyInStruct(a.A1, out inOff) != 0) return -Errno.EFAULT;
        if (a.A3 != 0 && t.Memory.CopyInStruct(a.A3, out outOff) != 0) return -Errno.EFAULT;
        if ((a.A1 != 0 && inOff < 0) || (a.A3 != 0 && outOff < 0)) return -Errno.EINVAL;
        long n = CopyBetween(t, inF, inOff, outF, outOff, (long)a.A4, out _);
        if (n > 0)
        {
            if (a.A1 != 0) t.Memory.CopyOutStruct(a.A1, inOff + n);
            if (a.A3 != 0) t.Memory.CopyOutStruct(a.A3, outOff + n);
        }
        return n;
    }

    /// <summary>splice(2): one side must be a pipe (EINVAL otherwise); offsets only for the non-pipe side (ESPIPE).</summary>
    private static long Splice(Task t, in SyscallArguments a)
    {
        var inF = File(t, a.A0);
        var outF = File(t, a.A2);
        if (inF == null || outF == null || !inF.Readable || !outF.Writable) return -Errno.EBADF;
        if (inF is not PipeFile && outF is not PipeFile) return -Errno.EINVAL;
        long inOff = -1, outOff = -1;
        if (a.A1 != 0)
        {
            if (inF is PipeFile) return -Errno.ESPIPE;
            if (t.Memory.CopyInStruct(a.A1, out inOff) != 0) return -Errno.EFAULT;
        }
        if (a.A3 != 0)
        {
            if (outF is PipeFile) return -Errno.ESPIPE;
            if (t.Memory.CopyInStruct(a.A3, out outOff) != 0) return -Errno.EFAULT;
        }
        long count = Math.Min((long)a.A4, Pipe.DefaultCapacity);
        long n = CopyBetween(t, inF, inOff, outF, outOff, count, out _);
        if (n > 0)
        {
            if (a.A1 != 0) t.Memory.CopyOutStruct(a.A1, inOff + n);
            if (a.A3 != 0) t.Memory.CopyOutStruct(a.A3, outOff + n);
        }
        return n;
    }

    /// <summary>
    /// tee(2): duplicates up to len bytes from one pipe to another without consuming them.
    /// EBADF for a bad fd or one not open for reading (input) / writing (output), EINVAL unless
    /// both are pipes and different ones or for unknown flags; SPLICE_F_NONBLOCK (2) gives EAGAIN
    /// instead of waiting.
    /// </summary>
    private static long Tee(Task t, in SyscallArguments a)
    {
        const uint SpliceFlags = 0xf, SpliceNonBlock = 2;
        var inF = File(t, a.A0);
        var outF = File(t, a.A1);
        if (inF == null || outF == null) return -Errno.EBADF;
        if ((a.A3 & ~(ulong)SpliceFlags) != 0) return -Errno.EINVAL;
        if (!inF.Readable || !outF.Writable) return -Errno.EBADF;
        if (inF is not PipeFile input || outF is not PipeFile output || input.Pipe == output.Pipe) return -Errno.EINVAL;
        return input.TeeTo(t, output, (long)Math.Min(a.A2, int.MaxValue), (a.A3 & SpliceNonBlock) != 0);
    }

    /// <summary>memfd_create(2): an anonymous tmpfs file ("memfd:name"); EINVAL for unknown flags or a name over 249 bytes.</summary>
    private static long MemfdCreate(Task t, in SyscallArguments a)
    {
        const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4, MFD_NOEXEC_SEAL = 8, MFD_EXEC = 0x10;
        uint flags = (uint)a.A1;
        if ((flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) != 0) return -Errno.EINVAL;
        if ((flags & MFD_HUGETLB) != 0) return -Errno.EINVAL;
        if ((flags & MFD_EXEC) != 0 && (flags & MFD_NOEXEC_SEAL) != 0) return -Errno.EINVAL;
        int err = t.Memory.CopyInString(a.A0, 250, out string name);
        if (err == -Errno.ENAMETOOLONG) return -Errno.EINVAL;
        if (err != 0) return err;
        var file = Vfs.Tmpfs.MemfdFileSystem.Create(t, name, (flags & MFD_ALLOW_SEALING) != 0, (flags & MFD_NOEXEC_SEAL) != 0);
        return t.Fds.InstallNew(file, (flags & MFD_CLOEXEC) != 0);
    }
}
