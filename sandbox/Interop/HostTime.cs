using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>Host clocks and system information.</summary>
internal static unsafe partial class HostTime
{
    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    [SuppressGCTransition]
    public static partial int ClockGetTime(int clock, Timespec* ts);

    [LibraryImport("libc", EntryPoint = "clock_getres", SetLastError = true)]
    public static partial int ClockGetRes(int clock, Timespec* ts);

    public static int SysInfo(byte* info) => LibcCalls.SysInfo(info);

    /// <summary>Nanoseconds of <paramref name="clock"/>, or -1 if the host refuses it.</summary>
    public static long Nanos(int clock)
    {
        Timespec ts;
        if (ClockGetTime(clock, &ts) != 0) return -1;
        return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
    }

    /// <summary>The CPU-time clock id of host process <paramref name="pid"/> (MAKE_PROCESS_CPUCLOCK, CPUCLOCK_SCHED).</summary>
    public static int ProcessCpuClock(int pid) => (~pid << 3) | 2;
}
