using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>POSIX per-process timers: timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete.</summary>
internal static class PosixTimerSyscalls
{
    private const int TIMER_ABSTIME = 1;
    private const long NanosPerSec = 1_000_000_000;
    private const int CAP_WAKE_ALARM = 35;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(222, "timer_create", TimerCreate,
            "CLOCK_REALTIME/MONOTONIC/BOOTTIME/TAI (+_ALARM with CAP_WAKE_ALARM) and the calling process's CPU clocks, also as dynamic ids (glibc passes -6/-2; thread clocks and PROF/VIRT measure the process's CPU time); CPU clocks of other processes give EINVAL.");
        t.Supported(223, "timer_settime", TimerSettime);
        t.Supported(224, "timer_gettime", TimerGettime);
        t.Supported(225, "timer_getoverrun", TimerGetoverrun);
        t.Supported(226, "timer_delete", TimerDelete);
    }

    /// <summary>
    /// timer_create(2): clock must support timers (EINVAL for unknown ids, EOPNOTSUPP for the
    /// raw/coarse clocks, EPERM for alarm clocks without CAP_WAKE_ALARM). sigevent NULL means
    /// SIGEV_SIGNAL with SIGALRM and si_value = the timer ID. SIGEV_SIGNAL/SIGEV_THREAD need a
    /// valid signal; SIGEV_THREAD_ID also a thread of the caller's process; anything else EINVAL.
    /// The new ID is written to <c>*timerid</c> (EFAULT undoes the creation).
    /// </summary>
    private static long TimerCreate(Task t, in SyscallArguments a)
    {
        int clock = (int)a.A0;
        // ~fd << 3 | 3 names a dynamic posix clock by fd (a PTP device); those have no timers.
        if (clock < 0 && (clock & 3) == 3) return -Errno.EOPNOTSUPP;
        if (clock < 0)
        {
            // A dynamic CPU clock id (glibc's timer_create turns CLOCK_PROCESS_CPUTIME_ID into
            // MAKE_PROCESS_CPUCLOCK(0, SCHED) = -6, CLOCK_THREAD_CPUTIME_ID into -2): a clock of
            // the caller's own process or of one of its threads is its process or thread clock.
            if (TimeSyscalls.CpuClockTarget(t, clock, out var owner, out bool thread, out _) != 0) return -Errno.EINVAL;
            if (owner.ThreadGroup != t.ThreadGroup) return -Errno.EINVAL;
            clock = thread ? PosixTimer.CLOCK_THREAD_CPUTIME_ID : PosixTimer.CLOCK_PROCESS_CPUTIME_ID;
        }
        switch (clock)
        {
            case PosixTimer.CLOCK_REALTIME or PosixTimer.CLOCK_MONOTONIC or PosixTimer.CLOCK_BOOTTIME or PosixTimer.CLOCK_TAI
                or PosixTimer.CLOCK_PROCESS_CPUTIME_ID or PosixTimer.CLOCK_THREAD_CPUTIME_ID:
                break;
            case 4 or 5 or 6: // MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE
                return -Errno.EOPNOTSUPP;
            case PosixTimer.CLOCK_REALTIME_ALARM or PosixTimer.CLOCK_BOOTTIME_ALARM:
                if (!t.Credentials.HasCapability(CAP_WAKE_ALARM)) return -Errno.EPERM;
                break;
            default:
                return -Errno.EINVAL;
        }
        int notify = PosixTimer.SIGEV_SIGNAL, signo = Signal.SIGALRM;
        ulong value = 0;
        Task? target = null;
        bool defaultValue = a.A1 == 0;
        if (a.A1 != 0)
        {
            var ev = new byte[64];
            if (t.Memory.CopyIn(a.A1, ev) != 0) return -Errno.EFAULT;
            value = BinaryPrimitives.ReadUInt64LittleEndian(ev);
            signo = BinaryPrimitives.ReadInt32LittleEndian(ev.AsSpan(8));
            notify = BinaryPrimitives.ReadInt32LittleEndian(ev.AsSpan(12));
            int tid = BinaryPrimitives.ReadInt32LittleEndian(ev.AsSpan(16));
            switch (notify)
            {
                case PosixTimer.SIGEV_THREAD_ID: // SIGEV_SIGNAL | SIGEV_THREAD_ID
                    target = t.Kernel.TaskByTid(t, tid);
                    if (target == null || target.ThreadGroup != t.ThreadGroup) return -Errno.EINVAL;
                    if (!Signal.IsValid(signo)) return -Errno.EINVAL;
                    break;
                case PosixTimer.SIGEV_SIGNAL:
                case PosixTimer.SIGEV_THREAD:
                    if (!Signal.IsValid(signo)) return -Errno.EINVAL;
                    notify = PosixTimer.SIGEV_SIGNAL;
                    break;
                case PosixTimer.SIGEV_NONE:
                    break;
                default:
                    return -Errno.EINVAL;
            }
        }
        var timer = t.ThreadGroup.PosixTimers.Create(clock, notify, signo, value, target, defaultValue);
        if (t.Memory.CopyOutStruct(a.A2, timer.Id) != 0)
        {
            t.ThreadGroup.PosixTimers.Delete(timer.Id);
            return -Errno.EFAULT;
        }
        return 0;
    }

    private static PosixTimer? Lookup(Task t, ulong id)
    {
        long v = (long)id;
        if (v < 0 || v > int.MaxValue) return null;
        return t.ThreadGroup.PosixTimers.Get((int)v);
    }

    private static byte[] Itimerspec(long intervalNs, long valueNs)
    {
        var b = new byte[32];
        BinaryPrimitives.WriteInt64LittleEndian(b, intervalNs / NanosPerSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), intervalNs % NanosPerSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), valueNs / NanosPerSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(24), valueNs % NanosPerSec);
        return b;
    }

    private static bool ValidTimespec(long sec, long nsec) => sec >= 0 && nsec >= 0 && nsec < NanosPerSec;

    private static long ToNanos(long sec, long nsec) => sec > long.MaxValue / NanosPerSec - 1 ? long.MaxValue : sec * NanosPerSec + nsec;

    /// <summary>
    /// timer_settime(2): EINVAL for an unknown timer, a NULL new value or a timespec outside
    /// [0, 1e9) ns; TIMER_ABSTIME makes it_value a time on the timer's clock (a time already
    /// past expires at once); a zero it_value disarms. The old setting goes to old_value.
    /// </summary>
    private static long TimerSettime(Task t, in SyscallArguments a)
    {
        var timer = Lookup(t, a.A0);
        if (timer == null) return -Errno.EINVAL;
        if (a.A2 == 0) return -Errno.EINVAL;
        var b = new byte[32];
        if (t.Memory.CopyIn(a.A2, b) != 0) return -Errno.EFAULT;
        long isec = BinaryPrimitives.ReadInt64LittleEndian(b), insec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8));
        long vsec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(16)), vnsec = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(24));
        if (!ValidTimespec(isec, insec) || !ValidTimespec(vsec, vnsec)) return -Errno.EINVAL;
        long value = ToNanos(vsec, vnsec);
        long interval = value == 0 ? 0 : ToNanos(isec, insec);
        var (oldValue, oldInterval) = timer.Set(value, interval, ((int)a.A1 & TIMER_ABSTIME) != 0);
        if (a.A3 != 0 && t.Memory.CopyOut(a.A3, Itimerspec(oldInterval, oldValue)) != 0) return -Errno.EFAULT;
        return 0;
    }

    /// <summary>timer_gettime(2): time to the next expiry (zero when disarmed) and the interval; EINVAL for an unknown timer.</summary>
    private static long TimerGettime(Task t, in SyscallArguments a)
    {
        var timer = Lookup(t, a.A0);
        if (timer == null) return -Errno.EINVAL;
        var (value, interval) = timer.Get();
        return t.Memory.CopyOut(a.A1, Itimerspec(interval, value)) != 0 ? -Errno.EFAULT : 0;
    }

    /// <summary>timer_getoverrun(2): the overrun count of the last expiry signal delivered; EINVAL for an unknown timer.</summary>
    private static long TimerGetoverrun(Task t, in SyscallArguments a)
    {
        var timer = Lookup(t, a.A0);
        return timer == null ? -Errno.EINVAL : timer.Overrun;
    }

    /// <summary>timer_delete(2): EINVAL for an unknown timer.</summary>
    private static long TimerDelete(Task t, in SyscallArguments a)
    {
        var timer = Lookup(t, a.A0);
        if (timer == null) return -Errno.EINVAL;
        return t.ThreadGroup.PosixTimers.Delete(timer.Id) ? 0 : -Errno.EINVAL;
    }
}
