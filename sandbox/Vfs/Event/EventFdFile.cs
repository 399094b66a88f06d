using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Event;

/// <summary>
/// An eventfd (eventfd(2)): a 64-bit counter. read returns and resets it (or decrements by one
/// with EFD_SEMAPHORE), blocking while it is zero; write adds, blocking while the sum would
/// exceed 0xfffffffffffffffe.
/// </summary>
internal sealed class EventFdFile : FileDescription
{
    private const ulong Max = 0xfffffffffffffffe;
    private readonly object _lock = new();
    private readonly bool _semaphore;
    private ulong _count;

    /// <summary>Creates an eventfd with initial value <paramref name="initial"/>.</summary>
    public EventFdFile(ulong initial, bool semaphore, int flags)
    {
        _count = initial;
        _semaphore = semaphore;
        StatusFlags = OpenFlags.O_RDWR | flags;
    }

    /// <summary>Notified when the counter changes.</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>The counter and whether the file is in semaphore mode (checkpoint).</summary>
    public (ulong Count, bool Semaphore) State
    {
        get { lock (_lock) return (_count, _semaphore); }
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        if (destination.Length < 8) return -Errno.EINVAL;
        while (true)
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    ulong v = _semaphore ? 1 : _count;
                    _count -= v;
                    BinaryPrimitives.WriteUInt64LittleEndian(destination, v);
                    Queue.Notify();
                    return 8;
                }
                if (NonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (_lock) return _count > 0; }, Queue) == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source)
    {
        if (source.Length < 8) return -Errno.EINVAL;
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(source);
        if (v == ulong.MaxValue) return -Errno.EINVAL;
        while (true)
        {
            lock (_lock)
            {
                if (Max - _count >= v)
                {
                    _count += v;
                    Queue.Notify();
                    return 8;
                }
                if (NonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (_lock) return Max - _count >= v; }, Queue) == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        int ev = 0;
        lock (_lock)
        {
            if (_count > 0) ev |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            if (_count < Max) ev |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
        }
        return (short)(ev & mask);
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => Queue;

    /// <inheritdoc/>
    public override string AnonymousName => "anon_inode:[eventfd]";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(0x180);
        return 0;
    }
}
