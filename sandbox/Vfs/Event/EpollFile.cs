using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Event;

/// <summary>
/// An epoll instance (epoll(7)): an interest list of (fd, file) pairs with event masks and user
/// data. Readiness is level-triggered by default. An EPOLLET entry is reported only after an edge:
/// when added or modified, and after each later notification of the file's readiness queue whose
/// key names an event it watches (data arrived, space freed, peer closed), as Linux's wake-up
/// callback queues the item; reporting it
/// (or finding it not ready) consumes the edge. EPOLLONESHOT disables an entry after one report
/// until EPOLL_CTL_MOD.
/// </summary>
internal sealed class EpollFile : FileDescription
{
    /// <summary>epoll event bits beyond poll's.</summary>
    public const uint EPOLLEXCLUSIVE = 1u << 28, EPOLLWAKEUP = 1u << 29, EPOLLONESHOT = 1u << 30, EPOLLET = 1u << 31;

    private sealed class Entry
    {
        public required FileDescription File;
        public required int Fd;
        public uint Events;
        public ulong Data;
        public bool Disabled;
        /// <summary>EPOLLET: an edge happened since the last report (volatile: set by notifiers' threads).</summary>
        public volatile bool Edge = true;
        /// <summary>EPOLLET: the waiter on the file's readiness queue that records edges.</summary>
        public Waiter? EdgeWaiter;

        public bool EdgeTriggered => (Events & EPOLLET) != 0;

        /// <summary>True for a file whose readiness the host fd poller reports (its edges come from that thread).</summary>
        public bool HostBacked => File is Host.HostFileDescription or Socket.HostSocket;

        /// <summary>Starts (EPOLLET) or stops recording edges of the file's readiness queue.</summary>
        public void WatchEdges()
        {
            Edge = true;
            if (EdgeTriggered && EdgeWaiter == null && File.ReadinessQueue is { } q)
            {
                // Host readiness already signalled but not yet delivered is not a new edge.
                if (HostBacked) Host.HostFdPoller.FlushPending();
                // Only a notification about an event the entry watches is an edge for it (the
                // key of Linux's wake-up: a write to a pipe is no edge for its write end).
                EdgeWaiter = new Waiter(key =>
                {
                    if ((key & (Events | (uint)(PollEvents.POLLERR | PollEvents.POLLHUP))) != 0) Edge = true;
                });
                q.Add(EdgeWaiter);
            }
            else if (!EdgeTriggered) UnwatchEdges();
        }

        public void UnwatchEdges()
        {
            if (EdgeWaiter != null) File.ReadinessQueue?.Remove(EdgeWaiter);
            EdgeWaiter = null;
        }
    }

    private readonly object _lock = new();
    private readonly Dictionary<(FileDescription, int), Entry> _entries = new();

    /// <summary>Creates an empty instance.</summary>
    public EpollFile(int flags)
    {
        StatusFlags = OpenFlags.O_RDWR | flags;
    }

    /// <summary>Notified when the interest list changes (a waiter re-evaluates its queues).</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>epoll_ctl: EPOLL_CTL_ADD (EEXIST), DEL/MOD (ENOENT); EPERM for files that cannot be polled; EINVAL for self.</summary>
    public int Control(int op, int fd, FileDescription file, uint events, ulong data)
    {
        if (file == this) return -Errno.EINVAL;
        if (file.Inode is { } inode && (LinuxMode.IsReg(inode.Mode) || inode.IsDirectory) && file.ReadinessQueue == null) return -Errno.EPERM;
        lock (_lock)
        {
            var key = (file, fd);
            switch (op)
            {
                case 1: // ADD
                    if (_entries.ContainsKey(key)) return -Errno.EEXIST;
                    var added = new Entry { File = file, Fd = fd, Events = events | (uint)(PollEvents.POLLERR | PollEvents.POLLHUP), Data = data };
                    _entries[key] = added;
                    added.WatchEdges();
                    break;
                case 2: // DEL
                    if (!_entries.Remove(key, out var removed)) return -Errno.ENOENT;
                    removed.UnwatchEdges();
                    break;
                case 3: // MOD
                    if (!_entries.TryGetValue(key, out var e)) return -Errno.ENOENT;
                    e.Events = events | (uint)(PollEvents.POLLERR | PollEvents.POLLHUP);
                    e.Data = data;
                    e.Disabled = false;
                    e.WatchEdges();
                    break;
                default:
                    return -Errno.EINVAL;
            }
        }
        Queue.Notify();
        return 0;
    }

    /// <summary>Collects up to <paramref name="max"/> ready events (disabling one-shot entries it reports).</summary>
    /// <summary>The interest list (checkpoint): each watched description with the fd it was added by, its events, data, and whether a one-shot entry fired.</summary>
    public List<(FileDescription File, int Fd, uint Events, ulong Data, bool Disabled)> Interests()
    {
        lock (_lock)
            return _entries.Values.Where(e => !e.File.IsReleased).Select(e => (e.File, e.Fd, e.Events, e.Data, e.Disabled)).ToList();
    }

    /// <summary>Adds a restored interest (as EPOLL_CTL_ADD, then the one-shot state); -errno when refused.</summary>
    public int RestoreInterest(FileDescription file, int fd, uint events, ulong data, bool disabled)
    {
        int err = Control(1, fd, file, events, data);
        if (err != 0) return err;
        lock (_lock)
            if (_entries.TryGetValue((file, fd), out var e)) e.Disabled = disabled;
        return 0;
    }

    public List<(uint Events, ulong Data)> Collect(int max)
    {
        var ready = new List<(uint, ulong)>();
        List<Entry> entries;
        lock (_lock)
        {
            // Entries go away with the last close of their file, as on Linux.
            foreach (var k in _entries.Where(kv => kv.Value.File.IsReleased).Select(kv => kv.Key).ToList())
                if (_entries.Remove(k, out var gone)) gone.UnwatchEdges();
            entries = new List<Entry>(_entries.Values);
        }
        // Host files' edges travel through the poller thread: take the ones the host has already
        // queued now, so edges that happened before this wait are all seen by it (as Linux queues
        // them synchronously).
        if (entries.Exists(e => e.EdgeTriggered && e.HostBacked)) Host.HostFdPoller.FlushPending();
        foreach (var e in entries)
        {
            if (ready.Count >= max) break;
            if (e.Disabled) continue;
            if (e.EdgeTriggered)
            {
                // Consumed before looking, so an edge during the check is kept for the next wait.
                if (!e.Edge) continue;
                e.Edge = false;
            }
            uint ev = (ushort)e.File.Readiness((short)(e.Events & 0xffff));
            ev &= e.Events;
            if (ev == 0) continue;
            ready.Add((ev, e.Data));
            if ((e.Events & EPOLLONESHOT) != 0) e.Disabled = true;
        }
        return ready;
    }

    /// <summary>The queues of every watched file plus this instance's own.</summary>
    public List<WaitQueue> Queues()
    {
        var qs = new List<WaitQueue> { Queue };
        lock (_lock)
        {
            foreach (var e in _entries.Values)
                if (e.File.ReadinessQueue is { } q && !qs.Contains(q)) qs.Add(q);
        }
        return qs;
    }

    /// <summary>True if some entry is ready (for polling an epoll fd itself).</summary>
    public override short Readiness(short mask)
    {
        List<Entry> entries;
        lock (_lock) entries = new List<Entry>(_entries.Values);
        foreach (var e in entries)
        {
            if (!e.Disabled && !e.File.IsReleased && (!e.EdgeTriggered || e.Edge) && (e.File.Readiness((short)(e.Events & 0xffff)) & e.Events) != 0)
                return (short)(mask & (PollEvents.POLLIN | PollEvents.POLLRDNORM));
        }
        return 0;
    }

    /// <inheritdoc/>
    public override string AnonymousName => "anon_inode:[eventpoll]";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(0x180);
        return 0;
    }

    /// <inheritdoc/>
    public override void Release()
    {
        lock (_lock)
        {
            foreach (var e in _entries.Values) e.UnwatchEdges();
            _entries.Clear();
        }
    }
}
