using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Host;

/// <summary>
/// Turns readiness of host fds (the container's stdio, host sockets) into <see cref="WaitQueue"/>
/// notifications: one edge-triggered epoll set watched by a dedicated thread. Tasks block with
/// <see cref="Task.Block(Func{bool}, WaitQueue, TimeSpan?)"/> on the fd's queue, so a signal can
/// interrupt the wait; the host fd itself stays in blocking mode (it may be shared with conmon).
/// </summary>
internal sealed class HostFdPoller
{
    private static readonly Lazy<HostFdPoller> s_instance = new(() => new HostFdPoller());
    private readonly object _lock = new();
    private readonly Dictionary<int, (uint Generation, WaitQueue Queue)> _queues = new();
    private uint _generation;
    private readonly int _epfd;

    /// <summary>The process-wide poller.</summary>
    public static HostFdPoller Instance => s_instance.Value;

    private HostFdPoller()
    {
        _epfd = HostFiles.epoll_create1(0x80000);
        var t = new Thread(Run) { IsBackground = true, Name = "host-fd-poller" };
        t.Start();
    }

    /// <summary>
    /// The queue notified when host fd <paramref name="fd"/> changes readiness; null when the fd
    /// cannot be polled (regular files: always ready).
    /// </summary>
    public unsafe WaitQueue? QueueFor(int fd)
    {
        lock (_lock)
        {
            if (_queues.TryGetValue(fd, out var known)) return known.Queue;
            // The event data carries a registration generation with the fd: an event the poller
            // took for a closed fd must not reach a later file that got the same fd number.
            uint generation = ++_generation;
            var ev = new EpollEvent { Events = 0x1 | 0x4 | 0x2000 | 0x80000000u /* IN|OUT|RDHUP|ET */, Data = (ulong)generation << 32 | (uint)fd };
            if (HostFiles.epoll_ctl(_epfd, 1 /* ADD */, fd, &ev) < 0) return null;
            var q = new WaitQueue();
            _queues[fd] = (generation, q);
            return q;
        }
    }

    /// <summary>Stops watching <paramref name="fd"/> (before it is closed).</summary>
    public unsafe void Forget(int fd)
    {
        lock (_lock)
        {
            if (!_queues.Remove(fd)) return;
            HostFiles.epoll_ctl(_epfd, 2 /* DEL */, fd, null);
        }
    }

    private void Run()
    {
        var events = new EpollEvent[32];
        while (true) Dispatch(events, -1);
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for host events and notifies their queues.</summary>
    private unsafe void Dispatch(EpollEvent[] events, int timeoutMs)
    {
        int n;
        fixed (EpollEvent* p = events) n = HostFiles.epoll_wait(_epfd, p, events.Length, timeoutMs);
        for (int i = 0; i < n; i++)
        {
            int fd = (int)(uint)events[i].Data;
            uint generation = (uint)(events[i].Data >> 32);
            WaitQueue? q = null;
            lock (_lock)
                if (_queues.TryGetValue(fd, out var known) && known.Generation == generation) q = known.Queue;
            q?.Notify(events[i].Events);
        }
    }

    [ThreadStatic] private static EpollEvent[]? t_flushEvents;

    /// <summary>
    /// Delivers the host events already pending, on the calling thread: an edge-triggered epoll
    /// entry about to start recording edges must not take an old one (an fd's first readiness after
    /// registration, a connect that completed before the entry was added) for a new edge.
    /// </summary>
    public static void FlushPending()
    {
        if (!s_instance.IsValueCreated) return;
        s_instance.Value.Dispatch(t_flushEvents ??= new EpollEvent[32], 0);
    }

    /// <summary>Host poll(2) of one fd with timeout 0: the ready events of <paramref name="mask"/> (plus ERR/HUP/NVAL).</summary>
    public static unsafe short PollNow(int fd, short mask)
    {
        var p = new Tmds.Linux.pollfd { fd = fd, events = mask };
        int r = HostFiles.poll(&p, 1, 0);
        return r > 0 ? p.revents : (short)0;
    }
}
