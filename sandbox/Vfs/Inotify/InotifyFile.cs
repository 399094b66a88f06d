using System.Buffers.Binary;
using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Vfs.Inotify;

/// <summary>The inotify(7) event and flag bits.</summary>
internal static class InotifyMask
{
    public const uint IN_ACCESS = 0x1, IN_MODIFY = 0x2, IN_ATTRIB = 0x4, IN_CLOSE_WRITE = 0x8, IN_CLOSE_NOWRITE = 0x10,
        IN_OPEN = 0x20, IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_CREATE = 0x100, IN_DELETE = 0x200,
        IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_UNMOUNT = 0x2000, IN_Q_OVERFLOW = 0x4000, IN_IGNORED = 0x8000,
        IN_ONLYDIR = 0x01000000, IN_DONT_FOLLOW = 0x02000000, IN_EXCL_UNLINK = 0x04000000, IN_MASK_CREATE = 0x10000000,
        IN_MASK_ADD = 0x20000000, IN_ISDIR = 0x40000000, IN_ONESHOT = 0x80000000;

    /// <summary>IN_ALL_EVENTS.</summary>
    public const uint AllEvents = 0xfff;

    /// <summary>Every bit inotify_add_watch accepts.</summary>
    public const uint AllBits = AllEvents | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT;
}

/// <summary>One watch: an inotify instance's interest in one inode.</summary>
internal sealed class InotifyWatch
{
    internal InotifyWatch(InotifyFile owner, int wd, Inode inode, uint mask, VfsPath? at)
    {
        At = at;
        Owner = owner;
        Descriptor = wd;
        Inode = inode;
        Mask = mask;
    }

    /// <summary>The instance the watch belongs to.</summary>
    public InotifyFile Owner { get; }

    /// <summary>The watch descriptor (wd) the application sees.</summary>
    public int Descriptor { get; }

    /// <summary>Where the watch was added (a checkpoint saves the watch by this path).</summary>
    public VfsPath? At { get; }

    /// <summary>The watched inode.</summary>
    public Inode Inode { get; }

    /// <summary>Events and flags (IN_ONESHOT, IN_EXCL_UNLINK).</summary>
    public uint Mask { get; internal set; }
}

/// <summary>
/// An inotify instance (inotify_init1(2)): a set of watches and a queue of events. read returns
/// whole <c>struct inotify_event</c> records (wd, mask, cookie, len, name padded with NULs to a
/// multiple of 16 bytes); an event equal to the last queued one is merged into it, and past
/// 16384 queued events one IN_Q_OVERFLOW is queued instead, as Linux does.
/// </summary>
internal sealed partial class InotifyFile : FileDescription
{
    /// <summary>/proc/sys/fs/inotify/max_queued_events.</summary>
    public const int MaxQueuedEvents = 16384;

    private const int HeaderSize = 16;
    private const uint FIONREAD = 0x541B;

    private readonly object _lock = new();
    private readonly Queue<byte[]> _events = new();
    private byte[]? _last;
    private int _queuedBytes;
    private readonly Dictionary<int, InotifyWatch> _watches = new();
    private int _nextWd = 1;

    /// <summary>An instance with no watches; <paramref name="flags"/> may hold O_NONBLOCK.</summary>
    public InotifyFile(int flags)
    {
        StatusFlags = OpenFlags.O_RDONLY | flags;
    }

    /// <summary>Notified when an event is queued.</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>
    /// inotify_add_watch: adds or updates the watch on <paramref name="inode"/>. An existing watch
    /// gets the new mask (ORed in with IN_MASK_ADD; EEXIST with IN_MASK_CREATE). Returns the wd.
    /// </summary>
    public int AddWatch(Inode inode, uint mask, VfsPath? at = null)
    {
        uint stored = mask & ~(InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE | InotifyMask.IN_ONLYDIR | InotifyMask.IN_DONT_FOLLOW);
        lock (_lock)
        {
            foreach (var w in _watches.Values)
            {
                if (w.Inode != inode) continue;
                if ((mask & InotifyMask.IN_MASK_CREATE) != 0) return -Errno.EEXIST;
                w.Mask = (mask & InotifyMask.IN_MASK_ADD) != 0 ? w.Mask | stored : stored;
                return w.Descriptor;
            }
            int wd = _nextWd;
            while (_watches.ContainsKey(wd)) wd = wd == int.MaxValue ? 1 : wd + 1;
            _nextWd = wd == int.MaxValue ? 1 : wd + 1;
            var watch = new InotifyWatch(this, wd, inode, stored, at);
            _watches[wd] = watch;
            InotifyRegistry.Add(watch);
            return wd;
        }
    }

    /// <summary>inotify_rm_watch: removes watch <paramref name="wd"/> and queues IN_IGNORED; EINVAL if there is none.</summary>
    public int RemoveWatch(int wd)
    {
        InotifyWatch? w;
        lock (_lock)
        {
            if (!_watches.Remove(wd, out w)) return -Errno.EINVAL;
        }
        InotifyRegistry.Remove(w);
        Enqueue(wd, InotifyMask.IN_IGNORED, 0, null);
        return 0;
    }

    /// <summary>
    /// Delivers an event that happened to <paramref name="watch"/>'s inode: queued when the watch
    /// asked for it; a one-shot watch is removed (IN_IGNORED) after its first event.
    /// </summary>
    internal void Deliver(InotifyWatch watch, uint mask, uint cookie, string? name)
    {
        uint wanted = mask & watch.Mask & InotifyMask.AllEvents;
        if (wanted == 0) return;
        bool oneShot;
        lock (_lock)
        {
            if (!_watches.TryGetValue(watch.Descriptor, out var cur) || cur != watch) return;
            oneShot = (watch.Mask & InotifyMask.IN_ONESHOT) != 0;
            if (oneShot) _watches.Remove(watch.Descriptor);
        }
        Enqueue(watch.Descriptor, wanted | (mask & InotifyMask.IN_ISDIR), cookie, name);
        if (oneShot)
        {
            InotifyRegistry.Remove(watch);
            Enqueue(watch.Descriptor, InotifyMask.IN_IGNORED, 0, null);
        }
    }

    /// <summary>The watched inode is gone (last link removed): IN_IGNORED and the watch is dropped.</summary>
    internal void InodeGone(InotifyWatch watch)
    {
        lock (_lock)
        {
            if (!_watches.TryGetValue(watch.Descriptor, out var cur) || cur != watch) return;
            _watches.Remove(watch.Descriptor);
        }
        InotifyRegistry.Remove(watch);
        Enqueue(watch.Descriptor, InotifyMask.IN_IGNORED, 0, null);
    }

    private static byte[] Encode(int wd, uint mask, uint cookie, string? name)
    {
        int nameLen = 0;
        byte[]? nameBytes = null;
        if (!string.IsNullOrEmpty(name))
        {
            nameBytes = Memory.LinuxText.Encode(name);
            nameLen = (nameBytes.Length + 1 + HeaderSize - 1) / HeaderSize * HeaderSize;
        }
        var e = new byte[HeaderSize + nameLen];
        BinaryPrimitives.WriteInt32LittleEndian(e, wd);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), mask);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(12), (uint)nameLen);
        nameBytes?.CopyTo(e, HeaderSize);
        return e;
    }

    private void Enqueue(int wd, uint mask, uint cookie, string? name)
    {
        var e = Encode(wd, mask, cookie, name);
        lock (_lock)
        {
            if (_last != null && _events.Count > 0 && _last.AsSpan().SequenceEqual(e)) return;
            if (_events.Count >= MaxQueuedEvents)
            {
                if (_events.Count > MaxQueuedEvents) return;   // the overflow event is already queued
                e = Encode(-1, InotifyMask.IN_Q_OVERFLOW, 0, null);
            }
            _events.Enqueue(e);
            _last = e;
            _queuedBytes += e.Length;
        }
        Queue.Notify();
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        while (true)
        {
            lock (_lock)
            {
                if (_events.Count > 0)
                {
                    int n = 0;
                    while (_events.Count > 0 && _events.Peek().Length <= destination.Length - n)
                    {
                        var e = _events.Dequeue();
                        _queuedBytes -= e.Length;
                        e.CopyTo(destination[n..]);
                        n += e.Length;
                    }
                    if (_events.Count == 0) _last = null;
                    return n > 0 ? n : -Errno.EINVAL;
                }
                if (NonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (_lock) return _events.Count > 0; }, Queue) == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EINVAL;

    /// <summary>FIONREAD: the bytes of all queued events.</summary>
    public override long Ioctl(Task task, uint request, ulong argument)
    {
        if (request != FIONREAD) return -Errno.ENOTTY;
        int n;
        lock (_lock) n = _queuedBytes;
        var b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, n);
        return task.Memory.CopyOut(argument, b) != 0 ? -Errno.EFAULT : 0;
    }

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        lock (_lock) return (short)(_events.Count > 0 ? mask & (PollEvents.POLLIN | PollEvents.POLLRDNORM) : 0);
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => Queue;

    /// <inheritdoc/>
    public override string AnonymousName => "anon_inode:inotify";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(0x180);
        return 0;
    }

    /// <summary>Closing the instance drops every watch.</summary>
    public override void Release()
    {
        InotifyWatch[] all;
        lock (_lock)
        {
            all = _watches.Values.ToArray();
            _watches.Clear();
            _events.Clear();
            _queuedBytes = 0;
        }
        foreach (var w in all) InotifyRegistry.Remove(w);
    }
}
