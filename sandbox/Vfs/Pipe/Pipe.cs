using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Pipe;

/// <summary>
/// A pipe's buffer with Linux semantics (pipe(7)): 64 KiB capacity by default (F_SETPIPE_SZ),
/// writes of at most PIPE_BUF bytes are atomic, reads see EOF when every writer is gone, writes
/// fail with EPIPE when every reader is gone, and blocking waits are interruptible by signals.
/// </summary>
internal sealed class Pipe
{
    /// <summary>Writes up to this size are atomic.</summary>
    public const int PipeBuf = 4096;
    /// <summary>Default capacity.</summary>
    public const int DefaultCapacity = 65536;
    /// <summary>/proc/sys/fs/pipe-max-size.</summary>
    public const int MaxCapacity = 1 << 20;

    private static long s_nextIno = 100000;
    private readonly object _lock = new();
    private byte[] _buffer = new byte[DefaultCapacity];
    private int _head;
    private int _count;
    private int _readers;
    private int _writers;
    private bool _hadWriter;

    /// <summary>The pipe inode number (pipe:[N] in /proc).</summary>
    public long Ino { get; } = Interlocked.Increment(ref s_nextIno);

    /// <summary>Notified when data, space, or the reader/writer counts change.</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>Current capacity in bytes.</summary>
    public int Capacity
    {
        get { lock (_lock) return _buffer.Length; }
    }

    /// <summary>Bytes buffered.</summary>
    public int Available
    {
        get { lock (_lock) return _count; }
    }

    /// <summary>Number of open read ends.</summary>
    public int Readers
    {
        get { lock (_lock) return _readers; }
    }

    /// <summary>Number of open write ends.</summary>
    public int Writers
    {
        get { lock (_lock) return _writers; }
    }

    /// <summary>
    /// How many read and write ends were ever opened (Linux's r_counter/w_counter): a FIFO open
    /// waiting for a partner waits for this to change, so a partner that opens and closes at once
    /// still releases it.
    /// </summary>
    public (long ReaderOpens, long WriterOpens) OpenCounts
    {
        get { lock (_lock) return (_readerOpens, _writerOpens); }
    }

    private long _readerOpens, _writerOpens;

    /// <summary>Registers an opened end.</summary>
    public void AddEnd(bool read, bool write)
    {
        lock (_lock)
        {
            if (read) { _readers++; _readerOpens++; }
            if (write) { _writers++; _hadWriter = true; _writerOpens++; }
        }
        Queue.Notify();
    }

    /// <summary>Unregisters a closed end.</summary>
    public void RemoveEnd(bool read, bool write)
    {
        lock (_lock)
        {
            if (read) _readers--;
            if (write) _writers--;
        }
        Queue.Notify();
    }

    /// <summary>The unread bytes, oldest first, without consuming them (checkpoint).</summary>
    public byte[] Buffered()
    {
        lock (_lock)
        {
            var data = new byte[_count];
            for (int i = 0; i < _count; i++) data[i] = _buffer[(_head + i) % _buffer.Length];
            return data;
        }
    }

    /// <summary>Replaces the buffer with <paramref name="data"/> at <paramref name="capacity"/> (restore; both already validated).</summary>
    public void Refill(byte[] data, int capacity)
    {
        lock (_lock)
        {
            _buffer = new byte[Math.Max(capacity, data.Length)];
            data.CopyTo(_buffer, 0);
            _head = 0;
            _count = data.Length;
        }
    }

    /// <summary>
    /// Reads into <paramref name="dst"/>: waits for data unless non-blocking (EAGAIN), returns 0
    /// at EOF, -ERESTARTSYS when a signal interrupts the wait.
    /// </summary>
    public long Read(Task task, Span<byte> dst, bool nonBlocking)
    {
        if (dst.Length == 0) return 0;
        while (true)
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    // Writers are told of new room only when there was too little to write
                    // (pipe_read wakes them when the pipe was full), so an edge-triggered
                    // write end sees one event per time it fills up.
                    bool wasFull = _buffer.Length - _count < PipeBuf;
                    int n = Math.Min(dst.Length, _count);
                    for (int i = 0; i < n; i++) dst[i] = _buffer[(_head + i) % _buffer.Length];
                    _head = (_head + n) % _buffer.Length;
                    _count -= n;
                    if (_count == 0) _head = 0;
                    if (wasFull) Queue.Notify(PollEvents.POLLOUT | PollEvents.POLLWRNORM);
                    return n;
                }
                if (_writers == 0) return 0;
                if (nonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (_lock) return _count > 0 || _writers == 0; }, Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <summary>
    /// Copies buffered bytes into <paramref name="dst"/> without consuming them (tee(2)): waits for
    /// data like <see cref="Read"/>; 0 when empty without writers.
    /// </summary>
    public long Peek(Task task, Span<byte> dst, bool nonBlocking)
    {
        if (dst.Length == 0) return 0;
        while (true)
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    int n = Math.Min(dst.Length, _count);
                    for (int i = 0; i < n; i++) dst[i] = _buffer[(_head + i) % _buffer.Length];
                    return n;
                }
                if (_writers == 0) return 0;
                if (nonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (_lock) return _count > 0 || _writers == 0; }, Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <summary>
    /// Writes <paramref name="src"/>: -EPIPE without readers (the caller raises SIGPIPE), atomic for
    /// at most PIPE_BUF bytes, otherwise partial writes while waiting for space; a signal during
    /// the wait ends it with the count written so far, or -ERESTARTSYS if nothing was.
    /// </summary>
    public long Write(Task task, ReadOnlySpan<byte> src, bool nonBlocking)
    {
        if (src.Length == 0)
        {
            lock (_lock) return _readers == 0 ? -Errno.EPIPE : 0;
        }
        int written = 0;
        while (true)
        {
            lock (_lock)
            {
                if (_readers == 0) return written > 0 ? written : -Errno.EPIPE;
                int free = _buffer.Length - _count;
                int left = src.Length - written;
                bool atomic = src.Length <= PipeBuf;
                if (free > 0 && (!atomic || free >= left))
                {
                    int n = Math.Min(free, left);
                    int tail = (_head + _count) % _buffer.Length;
                    for (int i = 0; i < n; i++) _buffer[(tail + i) % _buffer.Length] = src[written + i];
                    _count += n;
                    written += n;
                    Queue.Notify(PollEvents.POLLIN | PollEvents.POLLRDNORM);
                    if (written == src.Length) return written;
                }
                if (nonBlocking) return written > 0 ? written : -Errno.EAGAIN;
            }
            int need = src.Length <= PipeBuf ? src.Length - written : 1;
            var r = task.Block(() => { lock (_lock) return _readers == 0 || _buffer.Length - _count >= need; }, Queue);
            if (r == BlockResult.Interrupted) return written > 0 ? written : -Errno.ERESTARTSYS;
        }
    }

    /// <summary>Poll events for an end that reads and/or writes.</summary>
    public short Readiness(bool read, bool write, short mask)
    {
        int ev = 0;
        lock (_lock)
        {
            if (read)
            {
                if (_count > 0) ev |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
                if (_writers == 0 && _hadWriter) ev |= PollEvents.POLLHUP;
            }
            if (write)
            {
                if (_readers == 0) ev |= PollEvents.POLLERR;
                else if (_buffer.Length - _count >= PipeBuf) ev |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
            }
        }
        return (short)(ev & (mask | PollEvents.POLLERR | PollEvents.POLLHUP));
    }

    /// <summary>F_SETPIPE_SZ: rounds up to a power of two pages; EBUSY if the data would not fit, EPERM above the maximum.</summary>
    public long SetCapacity(long size)
    {
        if (size < 0) return -Errno.EINVAL;
        if (size > MaxCapacity) return -Errno.EPERM;
        int cap = 4096;
        while (cap < size) cap <<= 1;
        lock (_lock)
        {
            if (cap < _count) return -Errno.EBUSY;
            var nb = new byte[cap];
            for (int i = 0; i < _count; i++) nb[i] = _buffer[(_head + i) % _buffer.Length];
            _buffer = nb;
            _head = 0;
        }
        Queue.Notify();
        return cap;
    }
}
