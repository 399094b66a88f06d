using System.Buffers.Binary;
using System.Diagnostics;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>Clocks, sleeps and timers: clock_*, nanosleep, gettimeofday, time, alarm, itimers, times, getrusage.</summary>
internal static partial class TimeSyscalls
{
    private const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
        CLOCK_BOOTTIME = 7, CLOCK_TAI = 11;
    private const int TIMER_ABSTIME = 1;
    private const long NanosPerSec = 1_000_000_000;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(228, "clock_gettime", ClockGettime);
        t.Supported(229, "clock_getres", ClockGetres);
        t.Partial(227, "clock_settime", ClockSettime, "The sandbox never sets the host's clock: EPERM even with CAP_SYS_TIME.");
        t.Partial(164, "settimeofday", Settimeofday, "The sandbox never sets the host's clock: EPERM even with CAP_SYS_TIME.");
        t.Supported(35, "nanosleep", Nanosleep);
        t.Supported(230, "clock_nanosleep", ClockNanosleep);
        t.Supported(96, "gettimeofday", Gettimeofday);
        t.Supported(201, "time", (Task task, in SyscallArguments a) =>
        {
            long now = HostTime.Nanos(CLOCK_REALTIME) / NanosPerSec;
            if (a.A0 != 0 && task.Memory.CopyOutStruct(a.A0, now) != 0) return -Errno.EFAULT;
            return now;
        });
        t.Supported(37, "alarm", Alarm);
        t.Partial(36, "getitimer", Getitimer, "CPU time is the stub's: time the Sentry spends serving system calls is not counted.");
        t.Partial(38, "setitimer", Setitimer, "ITIMER_VIRTUAL/PROF count the stub's CPU time (the Sentry's time serving system calls is not counted), sampled every 4 ms.");
        t.Partial(100, "times", Times, "All CPU time is reported as user time.");
        t.Partial(98, "getrusage", Getrusage, "CPU times and ru_maxrss (the stub's VmHWM); other fields are zero.");
    }

    /// <summary>Reads a struct timespec; EINVAL for negative or out-of-range nanoseconds.</summary>
    public static int ReadTimespec(Task t, ulong addr, out long sec, out long nsec)
    {
        sec = nsec = 0;
        var b = new byte[16];
        if (t.Memory.CopyIn(addr, b) != 0) return -Errno.EFAULT;
        sec = BinaryPrimitives.ReadInt64LittleEndian(b);
        nsec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8));
        if (sec < 0 || nsec < 0 || nsec >= NanosPerSec) return -Errno.EINVAL;
        return 0;
    }

    private static int WriteTimespec(Task t, ulong addr, long nanos)
    {
        if (nanos < 0) nanos = 0;
        var b = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(b, nanos / NanosPerSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), nanos % NanosPerSec);
        return t.Memory.CopyOut(addr, b);
    }

    private static int WriteTimeval(Task t, ulong addr, long nanos)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(b, nanos / NanosPerSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), nanos % NanosPerSec / 1000);
        return t.Memory.CopyOut(addr, b);
    }

    /// <summary>
    /// The host CPU-time clock behind a sandbox CPU clock: CLOCK_PROCESS_CPUTIME_ID and
    /// CLOCK_THREAD_CPUTIME_ID of the caller, or a dynamic id (clock_getcpuclockid(3),
    /// pthread_getcpuclockid(3)): ~pid &lt;&lt; 3 | type (0 PROF, 1 VIRT, 2 SCHED) | 4 for a thread.
    /// As Linux: a thread clock only for a thread of the caller's own process, a process clock only
    /// for a process id (a thread-group leader); EINVAL otherwise. Returns 0 or -EINVAL.
    /// </summary>
    internal static int CpuClockTarget(Task t, int clock, out Task target, out bool thread, out int type)
    {
        target = t;
        thread = false;
        type = 2;
        Task? found;
        if (clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID)
        {
            thread = clock == CLOCK_THREAD_CPUTIME_ID;
            return 0;
        }
        if (clock >= 0 || (clock & 3) == 3) return -Errno.EINVAL;
        int pid = ~(clock >> 3);
        thread = (clock & 4) != 0;
        type = clock & 3;
        found = pid == 0 ? t : t.Kernel.TaskByTid(t, pid);
        if (found == null || found.Exited) return -Errno.EINVAL;
        if (thread && found.ThreadGroup != t.ThreadGroup) return -Errno.EINVAL;
        if (!thread && found != t && found.ThreadGroup.Tgid != found.Tid) return -Errno.EINVAL;
        target = found;
        return 0;
    }

    /// <summary>
    /// A CPU clock's value: the host's clock of the stub process for a process clock; for a thread
    /// clock the stub thread's figures from the host's /proc (another process's thread clock is not
    /// readable with clock_gettime): schedstat's run time (SCHED) or stat's user (+ system) ticks.
    /// A restored process's clock adds what it had used before the checkpoint (a thread clock,
    /// which the image does not keep per thread, starts again from zero).
    /// </summary>
    private static long CpuClockNanos(Task target, bool thread, int type)
    {
        var ctx = target.Context;
        if (ctx == null) return 0;   // a child not started yet
        if (!thread)
        {
            // A restored process's clock goes on from the CPU time it had used before its checkpoint.
            long n = HostTime.Nanos((~ctx.HostPid << 3) | type);
            return (n < 0 ? 0 : n) + target.ThreadGroup.CpuNanosBase;
        }
        string dir = $"/proc/{ctx.HostPid}/task/{ctx.HostTid}/";
        if (type == 2)
        {
            // schedstat's first field: nanoseconds on the CPU (absent without CONFIG_SCHED_INFO).
            try
            {
                string s = File.ReadAllText(dir + "schedstat");
                int sp = s.IndexOf(' ');
                if (long.TryParse(sp < 0 ? s.Trim() : s[..sp], out long v)) return v;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        try
        {
            string stat = File.ReadAllText(dir + "stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long utime = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture);
            long stime = long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return (type == 1 ? utime : utime + stime) * (NanosPerSec / 100);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>True for the ids clock_gettime accepts without a host CPU clock.</summary>
    private static bool IsCpuClock(int clock) => clock < 0 || clock is CLOCK_PROCESS_CPUTIME_ID or CLOCK_THREAD_CPUTIME_ID;

    private static long ClockNanos(Task t, int clock)
    {
        if (IsCpuClock(clock))
        {
            int err = CpuClockTarget(t, clock, out var target, out bool thread, out int type);
            return err != 0 ? err : CpuClockNanos(target, thread, type);
        }
        switch (clock)
        {
            case < 0:
                return -Errno.EINVAL;
            case > CLOCK_TAI:
                return -Errno.EINVAL;
            default:
                long n = HostTime.Nanos(clock);
                return n < 0 ? -Errno.EINVAL : n;
        }
    }

    private static long ClockGettime(Task t, in SyscallArguments a)
    {
        long n = ClockNanos(t, (int)a.A0);
        if (n < 0) return n;
        return WriteTimespec(t, a.A1, n);
    }

    private static long ClockGetres(Task t, in SyscallArguments a)
    {
        int clock = (int)a.A0;
        if (clock < 0 && CpuClockTarget(t, clock, out _, out _, out _) != 0) return -Errno.EINVAL;
        if (clock > CLOCK_TAI || clock == 10) return -Errno.EINVAL;
        if (a.A1 == 0) return 0;
        long res = clock is 5 or 6 ? 4_000_000 : 1;
        return WriteTimespec(t, a.A1, res);
    }

    private static long Gettimeofday(Task t, in SyscallArguments a)
    {
        if (a.A0 != 0 && WriteTimeval(t, a.A0, HostTime.Nanos(CLOCK_REALTIME)) != 0) return -Errno.EFAULT;
        if (a.A1 != 0 && t.Memory.CopyOutStruct(a.A1, 0UL) != 0) return -Errno.EFAULT;
        return 0;
    }

    /// <summary>
    /// Sleeps until the monotonic <paramref name="deadline"/> (ns). On a signal writes the time
    /// left to <paramref name="remAddr"/> and arranges restart_syscall to sleep the rest.
    /// </summary>
    private static long SleepUntil(Task t, long deadline, ulong remAddr)
    {
        long left = deadline - HostTime.Nanos(CLOCK_MONOTONIC);
        if (left <= 0) return 0;
        var r = t.Block(() => false, ReadOnlySpan<WaitQueue>.Empty, TimeSpan.FromTicks((left + 99) / 100));
        if (r != BlockResult.Interrupted) return 0;
        left = deadline - HostTime.Nanos(CLOCK_MONOTONIC);
        if (left <= 0) return 0;
        if (remAddr != 0 && WriteTimespec(t, remAddr, left) != 0) return -Errno.EFAULT;
        t.RestartBlock = task => SleepUntil(task, deadline, remAddr);
        return -Errno.ERESTART_RESTARTBLOCK;
    }

    private static long Nanosleep(Task t, in SyscallArguments a)
    {
        int err = ReadTimespec(t, a.A0, out long sec, out long nsec);
        if (err < 0) return err;
        long dur = sec > long.MaxValue / NanosPerSec / 2 ? long.MaxValue / 2 : sec * NanosPerSec + nsec;
        return SleepUntil(t, HostTime.Nanos(CLOCK_MONOTONIC) + dur, a.A1);
    }

    private static long ClockNanosleep(Task t, in SyscallArguments a)
    {
        int clock = (int)a.A0;
        int flags = (int)a.A1;
        if (clock is CLOCK_THREAD_CPUTIME_ID) return -Errno.EINVAL;
        if (clock < 0 || clock > CLOCK_TAI) return -Errno.EINVAL;
        int err = ReadTimespec(t, a.A2, out long sec, out long nsec);
        if (err < 0) return err;
        long req = sec > long.MaxValue / NanosPerSec / 2 ? long.MaxValue / 2 : sec * NanosPerSec + nsec;
        long now = HostTime.Nanos(CLOCK_MONOTONIC);
        if ((flags & TIMER_ABSTIME) != 0)
        {
            long clockNow = ClockNanos(t, clock);
            if (clockNow < 0) return clockNow;
            long deadline = now + (req - clockNow);
            long left = deadline - now;
            if (left <= 0) return 0;
            var r = t.Block(() => false, ReadOnlySpan<WaitQueue>.Empty, TimeSpan.FromTicks((left + 99) / 100));
            return r == BlockResult.Interrupted && HostTime.Nanos(CLOCK_MONOTONIC) < deadline ? -Errno.ERESTARTNOHAND : 0;
        }
        return SleepUntil(t, now + req, a.A3);
    }

    /// <summary>
    /// clock_settime(2): EINVAL for clocks that cannot be set (MONOTONIC, BOOTTIME, TAI...) or
    /// unknown, EFAULT, EINVAL for a bad timespec; CPU clocks can never be set (EPERM), and the
    /// real-time clock needs CAP_SYS_TIME (EPERM); the sandbox does not change the host's clock.
    /// CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID themselves are EINVAL.
    /// </summary>
    private static long ClockSettime(Task t, in SyscallArguments a)
    {
        int clock = (int)a.A0;
        if (clock < 0)
        {
            // Dynamic CPU clocks exist but can never be set; the caller's own (2, 3) have no setter at all.
            if (CpuClockTarget(t, clock, out _, out _, out _) != 0) return -Errno.EINVAL;
        }
        else if (clock != CLOCK_REALTIME) return -Errno.EINVAL;
        var b = new byte[16];
        if (t.Memory.CopyIn(a.A1, b) != 0) return -Errno.EFAULT;
        long sec = BinaryPrimitives.ReadInt64LittleEndian(b), nsec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8));
        if (sec < 0 || nsec < 0 || nsec >= NanosPerSec) return -Errno.EINVAL;
        return -Errno.EPERM;
    }

    /// <summary>settimeofday(2): EFAULT, EINVAL for a bad timeval or time zone, then EPERM (CAP_SYS_TIME; the host's clock is never set).</summary>
    private static long Settimeofday(Task t, in SyscallArguments a)
    {
        if (a.A0 != 0)
        {
            var b = new byte[16];
            if (t.Memory.CopyIn(a.A0, b) != 0) return -Errno.EFAULT;
            if (ReadTimeval(b, 0, out _) != 0) return -Errno.EINVAL;
        }
        if (a.A1 != 0)
        {
            if (t.Memory.CopyInStruct(a.A1, out long tz) != 0) return -Errno.EFAULT;
            int minutesWest = (int)tz;
            if (minutesWest < -15 * 60 || minutesWest > 15 * 60) return -Errno.EINVAL;
        }
        return -Errno.EPERM;
    }

    private static long Alarm(Task t, in SyscallArguments a)
    {
        var (rem, _) = t.ThreadGroup.RealTimer.Set(TimeSpan.FromSeconds((uint)a.A0), TimeSpan.Zero);
        if (rem <= TimeSpan.Zero) return 0;
        long secs = (long)Math.Round(rem.TotalSeconds, MidpointRounding.AwayFromZero);
        return Math.Max(1, secs);
    }

    private static int ReadTimeval(byte[] b, int off, out TimeSpan v)
    {
        long sec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(off));
        long usec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(off + 8));
        v = TimeSpan.Zero;
        if (sec < 0 || usec < 0 || usec >= 1_000_000) return -Errno.EINVAL;
        // Linux saturates a time too large for its clock (KTIME_MAX) rather than refusing it.
        v = sec >= TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerSecond ? TimeSpan.MaxValue : TimeSpan.FromTicks(sec * TimeSpan.TicksPerSecond + usec * 10);
        return 0;
    }

    private static byte[] ItimerBytes(TimeSpan value, TimeSpan interval)
    {
        var b = new byte[32];
        void W(int off, TimeSpan ts)
        {
            long us = ts.Ticks / 10;
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(off), us / 1_000_000);
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(off + 8), us % 1_000_000);
        }
        W(0, interval);
        W(16, value);
        return b;
    }

    /// <summary>ITIMER_VIRTUAL (1) or ITIMER_PROF (2) of the caller's process.</summary>
    private static CpuIntervalTimer CpuTimer(Task t, int which) => which == 1 ? t.ThreadGroup.VirtualTimer : t.ThreadGroup.ProfTimer;

    /// <summary>Nanoseconds of <paramref name="t"/> (≥ 0), saturating at long.MaxValue.</summary>
    private static long Nanos(TimeSpan t) => t.Ticks > long.MaxValue / 100 ? long.MaxValue : t.Ticks * 100;

    private static (TimeSpan, TimeSpan) FromNanos((long Remaining, long Interval) v)
        => (TimeSpan.FromTicks(v.Remaining / 100 + (v.Remaining % 100 != 0 ? 1 : 0)), TimeSpan.FromTicks(v.Interval / 100 + (v.Interval % 100 != 0 ? 1 : 0)));

    /// <summary>getitimer(2): EINVAL for an unknown timer; the time left (one tick for an expired CPU timer not yet delivered).</summary>
    private static long Getitimer(Task t, in SyscallArguments a)
    {
        int which = (int)a.A0;
        if (which < 0 || which > 2) return -Errno.EINVAL;
        var (rem, interval) = which == 0 ? t.ThreadGroup.RealTimer.Get() : FromNanos(CpuTimer(t, which).Get());
        return t.Memory.CopyOut(a.A1, ItimerBytes(rem, interval));
    }

    /// <summary>
    /// setitimer(2): ITIMER_REAL on wall time (SIGALRM), ITIMER_VIRTUAL on the process's user CPU
    /// time (SIGVTALRM), ITIMER_PROF on its user and system CPU time (SIGPROF); a null new value
    /// disarms; EINVAL for an unknown timer or a bad timeval, EFAULT.
    /// </summary>
    private static long Setitimer(Task t, in SyscallArguments a)
    {
        int which = (int)a.A0;
        if (which < 0 || which > 2) return -Errno.EINVAL;
        TimeSpan value = TimeSpan.Zero, interval = TimeSpan.Zero;
        if (a.A1 != 0)
        {
            var b = new byte[32];
            if (t.Memory.CopyIn(a.A1, b) != 0) return -Errno.EFAULT;
            int err = ReadTimeval(b, 0, out interval);
            if (err == 0) err = ReadTimeval(b, 16, out value);
            if (err < 0) return err;
        }
        var old = which == 0
            ? t.ThreadGroup.RealTimer.Set(value, interval)
            : FromNanos(CpuTimer(t, which).Set(Nanos(value), Nanos(interval)));
        if (a.A2 != 0 && t.Memory.CopyOut(a.A2, ItimerBytes(old.Item1, old.Item2)) != 0) return -Errno.EFAULT;
        return 0;
    }

    private static long Times(Task t, in SyscallArguments a)
    {
        long ticks(long ns) => ns / 10_000_000;
        if (a.A0 != 0)
        {
            var b = new byte[32];
            BinaryPrimitives.WriteInt64LittleEndian(b, ticks(t.CpuNanos()));
            long children;
            lock (t.Kernel.TaskLock) children = t.ThreadGroup.ChildrenCpuNanos;
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), ticks(children));
            if (t.Memory.CopyOut(a.A0, b) != 0) return -Errno.EFAULT;
        }
        long elapsed = Stopwatch.GetTimestamp() - t.Kernel.BootTimestamp;
        return elapsed * 100 / Stopwatch.Frequency + 4294967296L - 30000;   // like Linux: starts near a wrap
    }

    private static long Getrusage(Task t, in SyscallArguments a)
    {
        const int RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1, RUSAGE_THREAD = 1;
        int who = (int)a.A0;
        long ns, maxRssKb;
        switch (who)
        {
            case RUSAGE_SELF:
            case RUSAGE_THREAD:
                ns = t.CpuNanos();
                maxRssKb = t.PeakRssKb();
                lock (t.Kernel.TaskLock) maxRssKb = Math.Max(maxRssKb, t.ThreadGroup.MaxRssKb);
                break;
            case RUSAGE_CHILDREN:
                lock (t.Kernel.TaskLock)
                {
                    ns = t.ThreadGroup.ChildrenCpuNanos;
                    maxRssKb = t.ThreadGroup.ChildrenMaxRssKb;
                }
                break;
            default:
                return -Errno.EINVAL;
        }
        var b = new byte[144];
        BinaryPrimitives.WriteInt64LittleEndian(b, ns / NanosPerSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), ns % NanosPerSec / 1000);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(32), maxRssKb);   // ru_maxrss
        return t.Memory.CopyOut(a.A1, b);
    }
}
