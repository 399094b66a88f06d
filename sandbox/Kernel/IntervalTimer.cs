using System.Diagnostics;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A one-shot or periodic timer (ITIMER_REAL, alarm(2)) that calls <c>expire</c> on a timer
/// thread (never a task thread) when it fires.
/// </summary>
internal sealed class IntervalTimer
{
    private readonly Action _expire;
    private readonly object _lock = new();
    private Timer? _timer;
    private long _deadline;       // monotonic ns (Stopwatch); 0 = disarmed
    private TimeSpan _interval;

    /// <summary>A disarmed timer.</summary>
    public IntervalTimer(Action expire) => _expire = expire;

    private static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Nanoseconds of <paramref name="t"/> (≥ 0; TimeSpan.MaxValue fits).</summary>
    private static long Ns(TimeSpan t) => t.Ticks > long.MaxValue / 100 ? long.MaxValue : t.Ticks * 100;

    /// <summary>
    /// Arms the timer (<paramref name="value"/> zero disarms); returns the previous (remaining, interval).
    /// Any value is accepted (setitimer's seconds are not bounded): waits beyond what a
    /// Threading.Timer takes are re-armed when it fires before the deadline.
    /// </summary>
    public (TimeSpan Remaining, TimeSpan Interval) Set(TimeSpan value, TimeSpan interval)
    {
        lock (_lock)
        {
            var old = GetLocked();
            _timer?.Dispose();
            _timer = null;
            _deadline = 0;
            _interval = interval;
            if (value > TimeSpan.Zero) ArmLocked(Ns(value));
            return old;
        }
    }

    private void ArmLocked(long ns)
    {
        _deadline = LongTimer.SaturatingAdd(NowNs(), ns);
        _timer ??= new Timer(_ => Fire());
        LongTimer.Arm(_timer, ns);
    }

    /// <summary>The time left and the interval.</summary>
    public (TimeSpan Remaining, TimeSpan Interval) Get()
    {
        lock (_lock) return GetLocked();
    }

    private (TimeSpan, TimeSpan) GetLocked()
    {
        if (_deadline == 0) return (TimeSpan.Zero, _interval);
        long left = _deadline - NowNs();
        var rem = left <= 0 ? TimeSpan.FromTicks(1) : TimeSpan.FromTicks(left / 100 + (left % 100 != 0 ? 1 : 0));
        return (rem, _interval);
    }

    private void Fire()
    {
        lock (_lock)
        {
            if (_deadline == 0) return;
            long now = NowNs();
            if (now < _deadline)
            {
                // A wait longer than a Threading.Timer takes: keep waiting.
                LongTimer.Arm(_timer!, _deadline - now);
                return;
            }
            _deadline = 0;
            if (_interval > TimeSpan.Zero) ArmLocked(Ns(_interval));
            else
            {
                _timer?.Dispose();
                _timer = null;
            }
        }
        _expire();
    }

    /// <summary>Disarms the timer (process exit).</summary>
    public void Cancel() => Set(TimeSpan.Zero, TimeSpan.Zero);
}
