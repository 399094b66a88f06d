using System.Diagnostics;

namespace RunscNet.Sentry.Kernel;

/// <summary>How a blocking wait ended.</summary>
internal enum BlockResult
{
    /// <summary>The condition became true.</summary>
    Ready,
    /// <summary>A signal (or a kill of the task) interrupted the wait.</summary>
    Interrupted,
    /// <summary>The deadline passed.</summary>
    TimedOut,
}

internal sealed partial class Task
{
    /// <summary>This task's wake-up channel: queues it waits on and signal delivery both wake it.</summary>
    public Waiter Waiter { get; } = new();

    private volatile bool _interrupted;
    private volatile bool _blocked;

    /// <summary>
    /// True while the task sleeps in a wait (<see cref="Block(Func{bool}, ReadOnlySpan{WaitQueue}, TimeSpan?)"/>,
    /// a vfork parent waiting for its child): /proc shows it sleeping. A task working in the
    /// Sentry is running, as a thread in the kernel is on Linux.
    /// </summary>
    public bool IsBlocked => _blocked;

    /// <summary>
    /// True while something (a deliverable signal, group exit, a stop) needs this task to leave a
    /// blocking call. Set by <see cref="Interrupt"/>; cleared by the task when it handles it.
    /// </summary>
    public bool InterruptPending => _interrupted;

    /// <summary>Asks the task to leave any blocking wait (from any thread).</summary>
    public void Interrupt()
    {
        _interrupted = true;
        Waiter.Wake();
    }

    /// <summary>Clears the interrupt flag; call from the task's own thread once the cause is handled.</summary>
    public void ClearInterrupt() => _interrupted = false;

    /// <summary>
    /// Blocks the task's thread until <paramref name="ready"/> returns true, a signal interrupts
    /// (<see cref="BlockResult.Interrupted"/>: the handler returns -EINTR or an ERESTART code), or
    /// <paramref name="timeout"/> passes. The task is registered on every queue while it waits,
    /// so a Notify between the check and the sleep is not lost.
    /// </summary>
    public BlockResult Block(Func<bool> ready, ReadOnlySpan<WaitQueue> queues, TimeSpan? timeout = null)
    {
        if (ready()) return BlockResult.Ready;
        foreach (var q in queues) q.Add(Waiter);
        _blocked = true;
        try
        {
            long start = Stopwatch.GetTimestamp();
            while (true)
            {
                if (ready()) return BlockResult.Ready;
                if (_interrupted) return BlockResult.Interrupted;
                int waitMs = -1;
                if (timeout is TimeSpan t)
                {
                    var left = t - Stopwatch.GetElapsedTime(start);
                    if (left <= TimeSpan.Zero) return BlockResult.TimedOut;
                    waitMs = (int)Math.Min(int.MaxValue, Math.Ceiling(left.TotalMilliseconds));
                }
                Waiter.Sleep(waitMs);
            }
        }
        finally
        {
            _blocked = false;
            foreach (var q in queues) q.Remove(Waiter);
        }
    }

    /// <summary>Blocks on one queue; see <see cref="Block(Func{bool}, ReadOnlySpan{WaitQueue}, TimeSpan?)"/>.</summary>
    public BlockResult Block(Func<bool> ready, WaitQueue queue, TimeSpan? timeout = null)
        => Block(ready, new[] { queue }, timeout);
}
