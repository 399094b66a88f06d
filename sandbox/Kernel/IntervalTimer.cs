using System.Diagnostics;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A one-shot or periodic timer (ITIMER_REAL, alarm(2)) that calls <c>expire</c> on a timer
/// thread (never a task thread) when it fires.
/// </summary>
public sealed class IntervalTimer
{
    private readonly Action _expire;
    private readonly object _lock = new();
    private Timer? _timer;
    private long _deadline;       // Stopwatch ticks; 0 = disarmed
    private TimeSpan _interval;

    /// <summary>A disarmed timer.</summary>
    public IntervalTimer(Action expire) => _expire = expire;

    /// <summary>Arms the timer (<paramref name="value"/> zero disarms); returns the previous (remaining, interval).</summary>
    public (TimeSpan Remaining, TimeSpan Interval) Set(TimeSpan value, TimeSpan interval)
    {
        lock (_lock)
        {
            var old = GetLocked();
            _timer?.Dispose();
            _timer = null;
            _deadline = 0;
            _interval = interval;
            if (value > TimeSpan.Zero)
            {
                _deadline = Stopwatch.GetTimestamp() + (long)(value.TotalSeconds * Stopwatch.Frequency);
                _timer = new Timer(_ => Fire(), null, value, Timeout.InfiniteTimeSpan);
            }
            return old;
        }
    }

    /// <summary>The time left and the interval.</summary>
    public (TimeSpan Remaining, TimeSpan Interval) Get()
    {
        lock (_lock) return GetLocked();
    }

    private (TimeSpan, TimeSpan) GetLocked()
    {
        if (_deadline == 0) return (TimeSpan.Zero, _interval);
        long left = _deadline - Stopwatch.GetTimestamp();
        var rem = left <= 0 ? TimeSpan.FromTicks(1) : TimeSpan.FromSeconds((double)left / Stopwatch.Frequency);
        return (rem, _interval);
    }

    private void Fire()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            _deadline = 0;
            if (_interval > TimeSpan.Zero)
            {
                _deadline = Stopwatch.GetTimestamp() + (long)(_interval.TotalSeconds * Stopwatch.Frequency);
                _timer = new Timer(_ => Fire(), null, _interval, Timeout.InfiniteTimeSpan);
            }
        }
        _expire();
    }

    /// <summary>Disarms the timer (process exit).</summary>
    public void Cancel() => Set(TimeSpan.Zero, TimeSpan.Zero);
}
