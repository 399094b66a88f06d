using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Pipe;

/// <summary>One end of a pipe (pipe(2)) or an open FIFO: reads and/or writes the shared <see cref="Pipe"/>.</summary>
internal sealed class PipeFile : FileDescription
{
    private readonly bool _read;
    private readonly bool _write;

    /// <summary>Opens an end of <paramref name="pipe"/> with access mode and status <paramref name="flags"/>.</summary>
    public PipeFile(Pipe pipe, int flags)
    {
        Pipe = pipe;
        StatusFlags = flags;
        _read = OpenFlags.CanRead(flags);
        _write = OpenFlags.CanWrite(flags);
        pipe.AddEnd(_read, _write);
    }

    /// <summary>The shared buffer.</summary>
    public Pipe Pipe { get; }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
        => _read ? Pipe.Read(task, destination, NonBlocking) : -Errno.EBADF;

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source)
    {
        if (!_write) return -Errno.EBADF;
        long n = Pipe.Write(task, source, NonBlocking);
        if (n == -Errno.EPIPE) RaiseBrokenPipe(task);
        return n;
    }

    /// <inheritdoc/>
    public override short Readiness(short mask) => Pipe.Readiness(_read, _write, mask);

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => Pipe.Queue;

    /// <inheritdoc/>
    public override string AnonymousName => $"pipe:[{Pipe.Ino}]";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        if (Inode != null) return base.Stat(out attr);
        attr = AnonymousAttr(LinuxMode.S_IFIFO | 0x180);
        attr.Ino = (ulong)Pipe.Ino;
        return 0;
    }

    /// <inheritdoc/>
    public override long Ioctl(Task task, uint request, ulong argument)
    {
        const uint FIONREAD = 0x541B;
        if (request == FIONREAD) return Memory.MemoryIOExtensions.CopyOutStruct(task.Memory, argument, Pipe.Available);
        return -Errno.ENOTTY;
    }

    /// <inheritdoc/>
    public override int Reopen(Task task, int flags, out FileDescription? file)
    {
        file = new PipeFile(Pipe, flags);
        return 0;
    }

    /// <summary>fsync(2)/fdatasync(2): a pipe has nothing to sync (EINVAL, as Linux).</summary>
    public override int Sync(Task task, bool dataOnly) => -Errno.EINVAL;

    /// <inheritdoc/>
    public override void Release() => Pipe.RemoveEnd(_read, _write);

    /// <summary>
    /// tee(2) from this pipe's read end into <paramref name="output"/>: duplicates up to
    /// <paramref name="count"/> buffered bytes without consuming them. Waits for data (0 when
    /// empty without writers) and for room, unless <paramref name="nonBlocking"/> (EAGAIN); EPIPE
    /// and SIGPIPE when the output has no readers.
    /// </summary>
    public long TeeTo(Task task, PipeFile output, long count, bool nonBlocking)
    {
        if (count == 0) return 0;
        var data = new byte[Math.Min(count, Pipe.Capacity)];
        long n = Pipe.Peek(task, data, nonBlocking);
        if (n <= 0) return n;
        long w = output.Pipe.Write(task, data.AsSpan(0, (int)n), nonBlocking);
        if (w == -Errno.EPIPE) RaiseBrokenPipe(task);
        return w;
    }
}

/// <summary>The pipe behind a FIFO inode, with open(2)'s FIFO rules (fifo(7)).</summary>
internal sealed class NamedPipe
{
    private readonly Pipe _pipe = new();

    /// <summary>
    /// Opens the FIFO: a read-only open waits for a writer (unless O_NONBLOCK), a write-only open
    /// waits for a reader (O_NONBLOCK: ENXIO without one), O_RDWR never waits.
    /// </summary>
    public int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        bool nb = (flags & OpenFlags.O_NONBLOCK) != 0;
        int acc = flags & OpenFlags.O_ACCMODE;
        if (acc == OpenFlags.O_WRONLY && nb && _pipe.Readers == 0) return -Errno.ENXIO;
        var before = _pipe.OpenCounts;
        var f = new PipeFile(_pipe, flags);
        if (!nb && acc != OpenFlags.O_RDWR)
        {
            // A partner is there, or one has opened since this open began (it may be gone again:
            // Linux's wait_for_partner waits for the partner counter to move).
            Func<bool> ready = acc == OpenFlags.O_RDONLY
                ? () => _pipe.Writers > 0 || _pipe.OpenCounts.WriterOpens != before.WriterOpens
                : () => _pipe.Readers > 0 || _pipe.OpenCounts.ReaderOpens != before.ReaderOpens;
            if (task.Block(ready, _pipe.Queue) == BlockResult.Interrupted)
            {
                f.DecRef();
                return -Errno.ERESTARTSYS;
            }
        }
        file = f;
        return 0;
    }
}
