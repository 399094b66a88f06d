using System.Buffers.Binary;
using System.Diagnostics;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Event;

/// <summary>
/// A timerfd (timerfd_create(2)): a one-shot or periodic timer whose expirations are counted;
/// read returns and resets the count, blocking while it is zero.
/// </summary>
internal sealed class TimerFdFile : FileDescription
{
    private readonly object _lock = new();
    private readonly int _clock;
    private readonly Timer _timer;
    private ulong _expirations;
    private long _nextDueTimestamp; // Stopwatch ticks; 0 = disarmed
    private long _intervalNs;

    /// <summary>Creates a disarmed timer on clock <paramref name="clock"/>.</summary>
    public TimerFdFile(int clock, int flags)
    {
        _clock = clock;
        StatusFlags = OpenFlags.O_RDWR | flags;
        _timer = new Timer(_ => Fire());
    }

    /// <summary>Notified on expiry.</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>The clock id.</summary>
    public int Clock => _clock;

    /// <summary>Expirations not yet read (checkpoint); set on restore.</summary>
    public ulong Expirations
    {
        get { lock (_lock) return _expirations; }
        set
        {
            lock (_lock) _expirations = value;
            Queue.Notify();
        }
    }

    private static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    private static long RealtimeNs() => FileSystem.NowNs();

    /// <summary>
    /// timerfd_settime: arms with <paramref name="valueNs"/> (0 disarms), absolute with
    /// TFD_TIMER_ABSTIME, repeating every <paramref name="intervalNs"/>; returns the old setting.
    /// </summary>
    public void Set(long valueNs, long intervalNs, bool absolute, out long oldValueNs, out long oldIntervalNs)
    {
        lock (_lock)
        {
            Get(out oldValueNs, out oldIntervalNs);
            _expirations = 0;
            _intervalNs = intervalNs;
            if (valueNs == 0)
            {
                _nextDueTimestamp = 0;
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                return;
            }
            long rel = valueNs;
            if (absolute) rel = valueNs - (_clock == 0 ? RealtimeNs() : NowNs());
            if (rel < 0) rel = 0;
            _nextDueTimestamp = LongTimer.SaturatingAdd(NowNs(), rel);
            Schedule(rel);
        }
    }

    /// <summary>timerfd_gettime: time to the next expiry and the interval.</summary>
    public void Get(out long valueNs, out long intervalNs)
    {
        lock (_lock)
        {
            intervalNs = _intervalNs;
            valueNs = _nextDueTimestamp == 0 ? 0 : Math.Max(1, _nextDueTimestamp - NowNs());
        }
    }

    private void Schedule(long ns) => LongTimer.Arm(_timer, ns);

    private void Fire()
    {
        lock (_lock)
        {
            if (_nextDueTimestamp == 0) return;
            long now = NowNs();
            if (now < _nextDueTimestamp) { Schedule(_nextDueTimestamp - now); return; }
            if (_intervalNs > 0)
            {
                long missed = (now - _nextDueTimestamp) / _intervalNs + 1;
                _expirations += (ulong)missed;
                _nextDueTimestamp = LongTimer.SaturatingAdd(_nextDueTimestamp, missed > long.MaxValue / _intervalNs ? long.MaxValue : missed * _intervalNs);
                Schedule(_nextDueTimestamp - now);
            }
            else
            {
                _expirations++;
                _nextDueTimestamp = 0;
            }
        }
        Queue.Notify();
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        if (destination.Length < 8) return -Errno.EINVAL;
        while (true)
        {
            lock (_lock)
            {
                if (_expirations > 0)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(destination, _expirations);
                    _expirations = 0;
                    return 8;
                }
                if (NonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (_lock) return _expirations > 0; }, Queue) == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EINVAL;

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        lock (_lock) return (short)(_expirations > 0 ? mask & (PollEvents.POLLIN | PollEvents.POLLRDNORM) : 0);
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => Queue;

    /// <inheritdoc/>
    public override string AnonymousName => "anon_inode:[timerfd]";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(0x180);
        return 0;
    }

    /// <inheritdoc/>
    public override void Release() => _timer.Dispose();
}
