namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A set of tasks waiting for an event on a kernel object (a pipe becoming readable, a child
/// exiting...). Objects call <see cref="Notify"/> after changing state; waiters re-check their
/// condition. Lock order: an object's own lock may be held while calling Notify.
/// </summary>
internal sealed class WaitQueue
{
    private readonly List<Waiter> _waiters = new();

    /// <summary>Adds a waiter; it is woken by every later <see cref="Notify"/> until removed.</summary>
    public void Add(Waiter w)
    {
        lock (_waiters) _waiters.Add(w);
    }

    /// <summary>Removes a waiter added with <see cref="Add"/>.</summary>
    public void Remove(Waiter w)
    {
        lock (_waiters) _waiters.Remove(w);
    }

    /// <summary>The key of a notification that does not say which events it is about.</summary>
    public const uint AllEvents = uint.MaxValue;

    /// <summary>
    /// Wakes every waiter (they re-check their condition). <paramref name="key"/> names the poll
    /// events the change is about (POLLIN for new data, POLLOUT for new space...), as the key of
    /// Linux's wake_up_poll: edge-triggered epoll entries take only the events they watch.
    /// </summary>
    public void Notify(uint key = AllEvents)
    {
        Waiter[] snapshot;
        lock (_waiters)
        {
            if (_waiters.Count == 0) return;
            snapshot = _waiters.ToArray();
        }
        foreach (var w in snapshot) w.Wake(key);
    }
}

/// <summary>
/// One blocked thread's wake-up channel. A wake before the sleep is not lost: the waiter
/// counts wake-ups and <see cref="Sleep"/> returns at once when one is pending.
/// </summary>
internal sealed class Waiter
{
    private readonly object _lock = new();
    private readonly Action<uint>? _callback;
    private long _wakeups;
    private long _seen;

    /// <summary>A waiter for a sleeping thread.</summary>
    public Waiter() { }

    /// <summary>
    /// A waiter that runs <paramref name="callback"/> with each notification's key instead of
    /// waking a thread (epoll's per-entry hook). It runs under the notifier's locks: it must only
    /// record the event.
    /// </summary>
    public Waiter(Action<uint> callback) => _callback = callback;

    /// <summary>Wakes the thread sleeping in <see cref="Sleep"/> (or the next one to sleep).</summary>
    public void Wake(uint key = WaitQueue.AllEvents)
    {
        if (_callback != null)
        {
            _callback(key);
            return;
        }
        lock (_lock)
        {
            _wakeups++;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Sleeps until woken or until <paramref name="timeoutMs"/> passes (-1: forever). Returns false on timeout.</summary>
    public bool Sleep(int timeoutMs)
    {
        lock (_lock)
        {
            while (_wakeups == _seen)
            {
                if (!Monitor.Wait(_lock, timeoutMs)) return false;
            }
            _seen = _wakeups;
            return true;
        }
    }
}
