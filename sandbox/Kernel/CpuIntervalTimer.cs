namespace RunscNet.Sentry.Kernel;

/// <summary>
/// ITIMER_VIRTUAL / ITIMER_PROF (setitimer(2)): a one-shot or periodic timer on the process's CPU
/// time (user time, or user + system time) that calls <c>expire</c> when that much CPU has been
/// used. The CPU clock is sampled every scheduler tick while armed, as Linux checks CPU timers at
/// ticks; samples come from <c>sample</c> as (host process, its CPU ns) so a new stub after
/// execve continues the count instead of restarting it.
/// </summary>
internal sealed class CpuIntervalTimer
{
    /// <summary>The sampling period: one tick at HZ=250.</summary>
    public const long TickNanos = 4_000_000;

    private readonly Func<(int Pid, long Nanos)> _sample;
    private readonly Action _expire;
    private readonly object _lock = new();
    private Timer? _ticker;
    private long _value;        // CPU ns left until expiry at the time of _used; 0 = disarmed
    private long _interval;
    private long _used;         // CPU ns used since armed
    private (int Pid, long Nanos) _last;

    /// <summary>A disarmed timer.</summary>
    public CpuIntervalTimer(Func<(int Pid, long Nanos)> sample, Action expire)
    {
        _sample = sample;
        _expire = expire;
    }

    /// <summary>Arms (value 0 disarms; a first expiry one tick later than asked, as Linux's set_cpu_itimer); returns the previous (remaining, interval) in ns.</summary>
    public (long Remaining, long Interval) Set(long value, long interval)
    {
        lock (_lock)
        {
            var old = GetLocked();
            _interval = interval;
            _value = value > 0 ? LongTimer.SaturatingAdd(value, TickNanos) : 0;
            _used = 0;
            _last = _sample();
            if (value > 0) _ticker ??= new Timer(_ => Tick(), null, TimeSpan.FromTicks(TickNanos / 100), TimeSpan.FromTicks(TickNanos / 100));
            else StopLocked();
            return old;
        }
    }

    /// <summary>
    /// Restore: arms the timer with the CPU time that was left at the checkpoint, counted from
    /// now (no extra tick: that was added when the program armed it).
    /// </summary>
    public void Restore(long remaining, long interval)
    {
        lock (_lock)
        {
            _interval = interval;
            _value = remaining;
            _used = 0;
            _last = _sample();
            if (remaining > 0) _ticker ??= new Timer(_ => Tick(), null, TimeSpan.FromTicks(TickNanos / 100), TimeSpan.FromTicks(TickNanos / 100));
            else StopLocked();
        }
    }

    /// <summary>The CPU time left and the interval, in ns (an expired timer not yet seen by a tick: one tick, as Linux).</summary>
    public (long Remaining, long Interval) Get()
    {
        lock (_lock) return GetLocked();
    }

    /// <summary>Disarms the timer (process exit).</summary>
    public void Cancel() => Set(0, 0);

    private (long, long) GetLocked()
    {
        if (_value == 0) return (0, _interval);
        Advance();
        long left = _value - _used;
        return (left <= 0 ? TickNanos : left, _interval);
    }

    private void Advance()
    {
        var now = _sample();
        if (now.Pid == _last.Pid) _used += Math.Max(0, now.Nanos - _last.Nanos);
        else if (now.Pid != 0) _used += now.Nanos;
        _last = now;
    }

    private void StopLocked()
    {
        _ticker?.Dispose();
        _ticker = null;
    }

    private void Tick()
    {
        bool fire = false;
        lock (_lock)
        {
            if (_value == 0) { StopLocked(); return; }
            Advance();
            if (_used >= _value)
            {
                fire = true;
                if (_interval > 0)
                {
                    _used -= _value;
                    _value = _interval;
                }
                else
                {
                    _value = 0;
                    StopLocked();
                }
            }
        }
        if (fire) _expire();
    }
}
