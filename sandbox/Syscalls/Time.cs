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
        t.Partial(36, "getitimer", Getitimer, "ITIMER_REAL only; ITIMER_VIRTUAL/PROF read as disarmed.");
        t.Partial(38, "setitimer", Setitimer, "ITIMER_REAL only; ITIMER_VIRTUAL/PROF are accepted and never fire.");
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

    /// <summary>CPU time (ns) the process's stub has used so far.</summary>
    public static long CpuNanos(Task t)
    {
        int pid = t.Context?.HostPid ?? 0;
        if (pid <= 0) return 0;
        long n = HostTime.Nanos(HostTime.ProcessCpuClock(pid));
        return n < 0 ? 0 : n;
    }

    /// <summary>
    /// The peak resident set (kB) of <paramref name="t"/>'s address space: the host's VmHWM of its
    /// stub, which holds exactly the application's memory; 0 when there is none.
    /// </summary>
    public static long PeakRssKb(Task t)
    {
        int pid = t.Context?.HostPid ?? 0;
        if (pid <= 0) return 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                string kb = line[6..].Trim();
                if (kb.EndsWith(" kB", StringComparison.Ordinal)) kb = kb[..^3];
                return long.TryParse(kb, out long v) ? v : 0;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    private static long ClockNanos(Task t, int clock)
    {
        switch (clock)
        {
            case CLOCK_PROCESS_CPUTIME_ID:
            case CLOCK_THREAD_CPUTIME_ID:
                return CpuNanos(t);
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
        if (clock < 0 || clock > CLOCK_TAI) return -Errno.EINVAL;
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
        v = TimeSpan.FromTicks(sec * TimeSpan.TicksPerSecond + usec * 10);
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

    private static long Getitimer(Task t, in SyscallArguments a)
    {
        int which = (int)a.A0;
        if (which < 0 || which > 2) return -Errno.EINVAL;
        var (rem, interval) = which == 0 ? t.ThreadGroup.RealTimer.Get() : (TimeSpan.Zero, TimeSpan.Zero);
        return t.Memory.CopyOut(a.A1, ItimerBytes(rem, interval));
    }

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
        var old = (TimeSpan.Zero, TimeSpan.Zero);
        if (which == 0) old = t.ThreadGroup.RealTimer.Set(value, interval);
        if (a.A2 != 0 && t.Memory.CopyOut(a.A2, ItimerBytes(old.Item1, old.Item2)) != 0) return -Errno.EFAULT;
        return 0;
    }

    private static long Times(Task t, in SyscallArguments a)
    {
        long ticks(long ns) => ns / 10_000_000;
        if (a.A0 != 0)
        {
            var b = new byte[32];
            BinaryPrimitives.WriteInt64LittleEndian(b, ticks(CpuNanos(t)));
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
                ns = CpuNanos(t);
                maxRssKb = PeakRssKb(t);
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
