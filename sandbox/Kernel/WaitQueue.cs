namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A set of tasks waiting for an event on a kernel object (a pipe becoming readable, a child
/// exiting...). Objects call <see cref="Notify"/> after changing state; waiters re-check their
/// condition. Lock order: an object's own lock may be held while calling Notify.
/// </summary>
public sealed class WaitQueue
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

    /// <summary>Wakes every waiter (they re-check their condition).</summary>
    public void Notify()
    {
        Waiter[] snapshot;
        lock (_waiters)
        {
            if (_waiters.Count == 0) return;
            snapshot = _waiters.ToArray();
        }
        foreach (var w in snapshot) w.Wake();
    }
}

/// <summary>
/// One blocked thread's wake-up channel. A wake before the sleep is not lost: the waiter
/// counts wake-ups and <see cref="Sleep"/> returns at once when one is pending.
/// </summary>
public sealed class Waiter
{
    private readonly object _lock = new();
    private readonly Action? _onWake;
    private long _wakeups;
    private long _seen;

    /// <summary>A waiter for a blocked thread.</summary>
    public Waiter() { }

    /// <summary>
    /// A waiter that also runs <paramref name="onWake"/> on every wake-up (an epoll entry noting an
    /// edge); the callback runs on the notifier's thread and must not block.
    /// </summary>
    public Waiter(Action onWake) => _onWake = onWake;

    /// <summary>Wakes the thread sleeping in <see cref="Sleep"/> (or the next one to sleep).</summary>
    public void Wake()
    {
        _onWake?.Invoke();
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
