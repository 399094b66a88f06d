using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Event;

/// <summary>
/// An epoll instance (epoll(7)): an interest list of (fd, file) pairs with event masks and user
/// data. A level-triggered entry is reported while its file is ready. An edge-triggered one
/// (EPOLLET) is reported once per event: it is armed when added or modified and by each
/// notification of its file's queue whose key names an event it watches (new data, new space, a
/// hang-up), as an entry joins Linux's ready list from its wake-up callback, and disarmed when
/// reported or found not ready. EPOLLONESHOT disables an entry after one report until
/// EPOLL_CTL_MOD.
/// </summary>
public sealed class EpollFile : FileDescription
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
        /// <summary>For EPOLLET: an event came since the last report.</summary>
        public volatile bool Armed;
        /// <summary>For EPOLLET: the hook on the file's queue that arms the entry.</summary>
        public Waiter? Hook;
        public WaitQueue? HookQueue;

        public bool EdgeTriggered => (Events & EPOLLET) != 0;

        /// <summary>Hooks an edge-triggered entry to its file's queue (or unhooks a level-triggered one).</summary>
        public void UpdateHook()
        {
            if (EdgeTriggered && Hook == null && File.ReadinessQueue is { } q)
            {
                Hook = new Waiter(key =>
                {
                    if ((key & (Events | (uint)(PollEvents.POLLERR | PollEvents.POLLHUP))) != 0) Armed = true;
                });
                HookQueue = q;
                q.Add(Hook);
            }
            else if (!EdgeTriggered) Unhook();
            Armed = true;
        }

        public void Unhook()
        {
            if (Hook != null) HookQueue?.Remove(Hook);
            Hook = null;
            HookQueue = null;
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
                    {
                        if (_entries.ContainsKey(key)) return -Errno.EEXIST;
                        var e = new Entry { File = file, Fd = fd, Events = events | (uint)(PollEvents.POLLERR | PollEvents.POLLHUP), Data = data };
                        e.UpdateHook();
                        _entries[key] = e;
                        break;
                    }
                case 2: // DEL
                    {
                        if (!_entries.Remove(key, out var e)) return -Errno.ENOENT;
                        e.Unhook();
                        break;
                    }
                case 3: // MOD
                    {
                        if (!_entries.TryGetValue(key, out var e)) return -Errno.ENOENT;
                        e.Events = events | (uint)(PollEvents.POLLERR | PollEvents.POLLHUP);
                        e.Data = data;
                        e.Disabled = false;
                        e.UpdateHook();
                        break;
                    }
                default:
                    return -Errno.EINVAL;
            }
        }
        Queue.Notify();
        return 0;
    }

    /// <summary>Collects up to <paramref name="max"/> ready events (disabling one-shot entries it reports).</summary>
    public List<(uint Events, ulong Data)> Collect(int max)
    {
        var ready = new List<(uint, ulong)>();
        List<Entry> entries;
        lock (_lock)
        {
            // Entries go away with the last close of their file, as on Linux.
            foreach (var k in _entries.Where(kv => kv.Value.File.IsReleased).Select(kv => kv.Key).ToList())
                if (_entries.Remove(k, out var gone)) gone.Unhook();
            entries = new List<Entry>(_entries.Values);
        }
        foreach (var e in entries)
        {
            if (ready.Count >= max) break;
            if (e.Disabled) continue;
            // An edge-triggered entry leaves the ready list when it is looked at (ep_send_events).
            if (e.EdgeTriggered)
            {
                if (!e.Armed) continue;
                e.Armed = false;
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
            if (!e.Disabled && !e.File.IsReleased && (!e.EdgeTriggered || e.Armed)
                && (e.File.Readiness((short)(e.Events & 0xffff)) & e.Events) != 0)
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
            foreach (var e in _entries.Values) e.Unhook();
            _entries.Clear();
        }
    }
}
