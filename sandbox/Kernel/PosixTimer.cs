using System.Buffers.Binary;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// One POSIX per-process timer (timer_create(2)): a clock, a notification (a signal to the
/// process or to one of its threads, or nothing) and an arming (next expiry on that clock,
/// interval). Expiries are timed by a host timer thread; a CPU-time clock is re-checked at its
/// deadline, since it cannot advance faster than wall time for one thread. While the timer's
/// signal is still queued, further expiries only count as overruns (si_overrun), as on Linux.
/// </summary>
internal sealed class PosixTimer : IDisposable
{
    /// <summary>sigev_notify values.</summary>
    public const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;

    /// <summary>Clock ids the timers know.</summary>
    public const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
        CLOCK_BOOTTIME = 7, CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9, CLOCK_TAI = 11;

    /// <summary>DELAYTIMER_MAX: overrun counts saturate here.</summary>
    public const int DelayTimerMax = int.MaxValue;

    private readonly object _lock = new();
    private readonly ThreadGroup _group;
    private readonly Timer _timer;
    private long _deadline;          // on the timer's clock, ns; 0 = disarmed
    private long _interval;          // ns
    private SignalInfo? _queued;     // the last signal sent (guarded by the task lock)
    private int _lastOverrun;        // overrun of the last delivered signal
    private bool _deleted;

    /// <summary>Creates a disarmed timer; <see cref="PosixTimerTable.Create"/> validates the arguments.</summary>
    internal PosixTimer(ThreadGroup group, int id, int clock, int notify, int signo, ulong value, Task? target)
    {
        _group = group;
        Id = id;
        Clock = clock;
        Notify = notify;
        Signo = signo;
        Value = value;
        Target = target;
        _timer = new Timer(_ => Fire());
    }

    /// <summary>The timer ID (timer_t) the process sees.</summary>
    public int Id { get; }

    /// <summary>The clock the timer measures.</summary>
    public int Clock { get; }

    /// <summary>SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID (SIGEV_THREAD is SIGEV_SIGNAL to the kernel).</summary>
    public int Notify { get; }

    /// <summary>The signal sent on expiry.</summary>
    public int Signo { get; }

    /// <summary>sigev_value, copied into si_value.</summary>
    public ulong Value { get; }

    /// <summary>The thread signalled with SIGEV_THREAD_ID (null: the process).</summary>
    public Task? Target { get; }

    /// <summary>The current time of <paramref name="clock"/> in ns as this process sees it.</summary>
    internal static long ClockNow(ThreadGroup group, int clock) => clock switch
    {
        CLOCK_PROCESS_CPUTIME_ID or CLOCK_THREAD_CPUTIME_ID =>
            group.Tasks.Count > 0 ? group.Leader.CpuNanos() : group.CpuNanosAtExit,
        CLOCK_REALTIME_ALARM => HostTime.Nanos(CLOCK_REALTIME),
        CLOCK_BOOTTIME_ALARM => HostTime.Nanos(CLOCK_BOOTTIME),
        _ => HostTime.Nanos(clock),
    };

    private long Now() => ClockNow(_group, Clock);

    /// <summary>
    /// timer_settime(2): arms the timer to expire at <paramref name="valueNs"/> (absolute on the
    /// clock with <paramref name="absolute"/>, else relative; 0 disarms) and then every
    /// <paramref name="intervalNs"/>. Returns the previous setting as timer_gettime would.
    /// </summary>
    public (long Value, long Interval) Set(long valueNs, long intervalNs, bool absolute)
    {
        lock (_lock)
        {
            var old = GetLocked();
            if (_deleted) return old;
            _interval = intervalNs;
            if (valueNs == 0)
            {
                _deadline = 0;
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                return old;
            }
            long now = Now();
            _deadline = absolute ? valueNs : SaturatingAdd(now, valueNs);
            if (_deadline <= 0) _deadline = 1;
            Schedule(_deadline - now);
            return old;
        }
    }

    /// <summary>timer_gettime(2): the time left to the next expiry (0 when disarmed) and the interval.</summary>
    public (long Value, long Interval) Get()
    {
        lock (_lock) return GetLocked();
    }

    private (long, long) GetLocked()
    {
        if (_deadline == 0) return (0, _interval);
        long left = _deadline - Now();
        // An expiry that is due but not yet processed reads as "about to expire".
        return (left <= 0 ? 1 : left, _interval);
    }

    /// <summary>timer_getoverrun(2): the overrun count of the last delivered expiry signal.</summary>
    public int Overrun
    {
        get
        {
            lock (_group.Kernel.TaskLock)
            {
                if (_queued != null && !IsQueuedLocked(_queued)) return TimerOverrun(_queued);
                return _lastOverrun;
            }
        }
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private void Schedule(long ns) => LongTimer.Arm(_timer, ns);

    private void Fire()
    {
        long expiries;
        lock (_lock)
        {
            if (_deadline == 0 || _deleted) return;
            long now = Now();
            if (now < _deadline)
            {
                Schedule(_deadline - now);
                return;
            }
            if (_interval > 0)
            {
                long missed = (now - _deadline) / _interval;
                expiries = missed + 1;
                _deadline = SaturatingAdd(_deadline, SaturatingMultiply(expiries, _interval));
                Schedule(_deadline - now);
            }
            else
            {
                expiries = 1;
                _deadline = 0;
            }
        }
        Deliver(expiries);
    }

    private static long SaturatingMultiply(long a, long b) => b != 0 && a > long.MaxValue / b ? long.MaxValue : a * b;

    private bool IsQueuedLocked(SignalInfo info)
    {
        if (_group.Pending.Contains(info)) return true;
        foreach (var t in _group.Tasks)
            if (t.Pending.Contains(info)) return true;
        return false;
    }

    private static int TimerOverrun(SignalInfo info) => BinaryPrimitives.ReadInt32LittleEndian(info.Bytes.AsSpan(20));

    private static void SetTimerOverrun(SignalInfo info, long overrun) =>
        BinaryPrimitives.WriteInt32LittleEndian(info.Bytes.AsSpan(20), (int)Math.Min(overrun, DelayTimerMax));

    /// <summary>
    /// Sends the expiry signal (si_code SI_TIMER, si_timerid, si_overrun, si_value), or adds
    /// the expiries to the overrun of the one still queued.
    /// </summary>
    private void Deliver(long expiries)
    {
        if (Notify == SIGEV_NONE) return;
        var kernel = _group.Kernel;
        lock (kernel.TaskLock)
        {
            if (_deleted) return;
            if (_queued != null)
            {
                if (IsQueuedLocked(_queued))
                {
                    SetTimerOverrun(_queued, (long)TimerOverrun(_queued) + expiries);
                    return;
                }
                _lastOverrun = TimerOverrun(_queued);
            }
            var info = new SignalInfo { Signo = Signo, Code = SignalInfo.SI_TIMER, Value = Value };
            BinaryPrimitives.WriteInt32LittleEndian(info.Bytes.AsSpan(16), Id);
            SetTimerOverrun(info, expiries - 1);
            var target = Target is { Exited: false } t && t.ThreadGroup == _group ? t : null;
            bool sent = kernel.SendSignalLocked(_group, target, info, SignalSource.Kernel);
            _queued = sent ? info : null;
        }
    }

    /// <summary>timer_delete(2), exec and exit: disarms the timer for good.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _deleted = true;
            _deadline = 0;
            _timer.Dispose();
        }
    }
}

/// <summary>The POSIX timers of one process, by timer ID (timer_create/timer_delete).</summary>
internal sealed class PosixTimerTable
{
    private readonly ThreadGroup _group;
    private readonly Dictionary<int, PosixTimer> _timers = new();
    private int _nextId;

    /// <summary>An empty table for <paramref name="group"/>.</summary>
    public PosixTimerTable(ThreadGroup group) => _group = group;

    /// <summary>
    /// Creates a timer with the next free ID (IDs count up from 0, as Linux hands them out).
    /// The caller has validated clock and notification.
    /// </summary>
    public PosixTimer Create(int clock, int notify, int signo, ulong value, Task? target, bool defaultValueIsId)
    {
        lock (_timers)
        {
            int id = _nextId;
            while (_timers.ContainsKey(id)) id = id == int.MaxValue ? 0 : id + 1;
            _nextId = id == int.MaxValue ? 0 : id + 1;
            var timer = new PosixTimer(_group, id, clock, notify, signo, defaultValueIsId ? (ulong)id : value, target);
            _timers[id] = timer;
            return timer;
        }
    }

    /// <summary>The timer with ID <paramref name="id"/>, or null.</summary>
    public PosixTimer? Get(int id)
    {
        lock (_timers) return _timers.TryGetValue(id, out var t) ? t : null;
    }

    /// <summary>Deletes timer <paramref name="id"/>; false if there is none.</summary>
    public bool Delete(int id)
    {
        PosixTimer? t;
        lock (_timers)
        {
            if (!_timers.Remove(id, out t)) return false;
        }
        t.Dispose();
        return true;
    }

    /// <summary>Deletes every timer (execve, process exit).</summary>
    public void DeleteAll()
    {
        PosixTimer[] all;
        lock (_timers)
        {
            all = _timers.Values.ToArray();
            _timers.Clear();
            _nextId = 0;
        }
        foreach (var t in all) t.Dispose();
    }

    /// <summary>How many timers exist (tests, /proc).</summary>
    public int Count
    {
        get { lock (_timers) return _timers.Count; }
    }

    /// <summary>Every timer, by id (checkpoint).</summary>
    public PosixTimer[] Snapshot()
    {
        lock (_timers) return _timers.Values.OrderBy(t => t.Id).ToArray();
    }

    /// <summary>Creates a restored timer with its saved <paramref name="id"/>; null when the id is taken.</summary>
    public PosixTimer? Restore(int id, int clock, int notify, int signo, ulong value, Task? target)
    {
        lock (_timers)
        {
            if (id < 0 || _timers.ContainsKey(id)) return null;
            var timer = new PosixTimer(_group, id, clock, notify, signo, value, target);
            _timers[id] = timer;
            _nextId = id == int.MaxValue ? 0 : Math.Max(_nextId, id + 1);
            return timer;
        }
    }
}
