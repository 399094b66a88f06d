namespace RunscNet.Sentry.Kernel;

/// <summary>
/// Arms a <see cref="Timer"/> for any wait a Linux timer may be given (up to KTIME_MAX, 292
/// years): Threading.Timer takes at most 4294967294 ms (~49.7 days) and throws beyond, so longer
/// waits are armed for that maximum and the owner re-checks its deadline when the timer fires.
/// </summary>
internal static class LongTimer
{
    /// <summary>The longest wait Threading.Timer accepts, in ms.</summary>
    public const long MaxDueMs = 0xfffffffeL - 1;

    /// <summary>Arms <paramref name="timer"/> once, after <paramref name="ns"/> ns (clamped to 0..MaxDueMs ms, rounded up).</summary>
    public static void Arm(Timer timer, long ns) => timer.Change(Due(ns), Timeout.InfiniteTimeSpan);

    /// <summary>The due time of a wait of <paramref name="ns"/> ns that Threading.Timer accepts.</summary>
    public static TimeSpan Due(long ns)
    {
        if (ns <= 0) return TimeSpan.Zero;
        long ms = ns / 1_000_000 + (ns % 1_000_000 != 0 ? 1 : 0);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxDueMs));
    }

    /// <summary><paramref name="a"/> + <paramref name="b"/> for b ≥ 0, saturating at long.MaxValue.</summary>
    public static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
