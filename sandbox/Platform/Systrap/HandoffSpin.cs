using System.Diagnostics;
using System.Runtime.Intrinsics.X86;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// How long each side of one stub's hand-off spins before it sleeps on the futex, adapted per
/// context. Spinning is what makes a system call cost a few microseconds when the Sentry thread
/// and the stub run on different CPUs; when the CPUs are oversubscribed a spinner only burns the
/// time slice the other side needs, and the futex is cheaper. So each budget doubles (up to its
/// maximum) after a spin that caught the other side, halves after one that had to sleep, and a
/// budget that reached zero is probed again now and then.
/// </summary>
internal sealed class HandoffSpin
{
    private const int ProbeInterval = 32;

    private readonly long _maxSentryTicks;
    private readonly int _maxStubPauses;
    private readonly long _ticksPerPause;
    private long _sentryTicks;
    private int _stubPauses;
    private int _sentryZeroRuns, _stubZeroRuns;

    /// <summary>Budgets starting at their maximum (microseconds for both sides).</summary>
    public HandoffSpin(int maxSentryMicroseconds, int maxStubMicroseconds, double nanosecondsPerPause)
    {
        _maxSentryTicks = Stopwatch.Frequency * maxSentryMicroseconds / 1_000_000;
        _maxStubPauses = (int)(maxStubMicroseconds * 1000 / Math.Max(nanosecondsPerPause, 1));
        _ticksPerPause = Math.Max(1, (long)(nanosecondsPerPause * Stopwatch.Frequency / 1e9));
        _sentryTicks = _maxSentryTicks;
        _stubPauses = _maxStubPauses;
    }

    /// <summary>The Sentry's spin budget for the next wait (Stopwatch ticks; 0 = sleep at once).</summary>
    public long SentryTicks
    {
        get
        {
            if (_sentryTicks == 0 && ++_sentryZeroRuns % ProbeInterval == 0) return _maxSentryTicks / 4;
            return _sentryTicks;
        }
    }

    /// <summary>Records whether the Sentry's last wait ended while it still spun.</summary>
    public void SentryWaited(bool caughtWhileSpinning)
    {
        _sentryTicks = caughtWhileSpinning
            ? Math.Min(_maxSentryTicks, _sentryTicks * 2 + _maxSentryTicks / 16)
            : _sentryTicks / 2;
    }

    /// <summary>The stub's spin budget (pause rounds) to publish with the next command.</summary>
    public int StubPauses
    {
        get
        {
            if (_stubPauses == 0 && ++_stubZeroRuns % ProbeInterval == 0) return _maxStubPauses / 4;
            return _stubPauses;
        }
    }

    /// <summary>
    /// Records how the stub waited for the command just posted: whether it had gone to sleep, and
    /// how long the Sentry took to answer (a sleep after a long answer says nothing about spinning).
    /// </summary>
    public void StubWaited(bool slept, long answerTicks, int pausesItHad)
    {
        if (!slept) _stubPauses = Math.Min(_maxStubPauses, _stubPauses * 2 + _maxStubPauses / 16);
        else if (answerTicks < pausesItHad * _ticksPerPause) _stubPauses /= 2;
    }

    /// <summary>Measures the duration of one <c>pause</c> instruction on this machine (ns, the fastest of a few runs).</summary>
    public static double MeasurePause()
    {
        if (!X86Base.IsSupported) return 1;
        double best = double.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 2000; i++) X86Base.Pause();
            double ns = (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency / 2000;
            best = Math.Min(best, ns);
        }
        return Math.Max(best, 1);
    }
}
