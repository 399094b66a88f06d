using RunscNet.Sentry.Platform;

namespace RunscNet.Sentry.Kernel;

/// <summary>A task's execution state taken at a safe point for a checkpoint.</summary>
/// <param name="Regs">The registers as the task would return to user code; a system call that was interrupted to stop is rolled back to be made again.</param>
/// <param name="Fpu">The fxsave area.</param>
/// <param name="SignalMask">The mask the application has (a temporary sigsuspend/ppoll mask is not it).</param>
internal sealed record TaskSnapshot(Registers Regs, FpuState Fpu, ulong SignalMask);

/// <summary>
/// Stops every task at a safe point and takes its registers there, for a checkpoint. Tasks reach
/// the safe point through the pause machinery (<see cref="Kernel.PauseAll"/>): a task in user
/// code is kicked out of it, a task blocked in a system call is interrupted and the call returns
/// an ERESTART code, and in <see cref="Task.HandleSignalsAndStops"/> the task parks before any
/// signal is delivered. Only the task's own thread may read its platform registers, so each task
/// records its own snapshot (<see cref="Park"/>) when one is wanted.
/// </summary>
internal sealed class CheckpointGate
{
    private readonly object _lock = new();
    private readonly Dictionary<Task, TaskSnapshot> _taken = new();
    private bool _active;

    /// <summary>True while a capture is under way and <paramref name="t"/> has not recorded its state yet.</summary>
    public bool Wants(Task t)
    {
        lock (_lock) return _active && !_taken.ContainsKey(t);
    }

    /// <summary>
    /// Called by a task on its own thread at the pause safe point: records its state when a capture
    /// wants it. <paramref name="syscallResult"/> is the ERESTART code of the call it left, if any.
    /// </summary>
    internal void Park(Task t, long? syscallResult)
    {
        if (!Wants(t) || t.Context is not { } ctx) return;
        Registers regs = ctx.Regs;
        if (syscallResult is long r && IsRestart(r))
        {
            // Rolled back onto the syscall instruction with the original number: the restored
            // task makes the call again (nanosleep then sleeps its whole time again).
            regs.Rax = regs.OrigRax;
            regs.Rip -= 2;
        }
        ctx.GetFpu(out var fpu);
        var snapshot = new TaskSnapshot(regs, fpu, t.SavedSignalMask ?? t.SignalMask);
        lock (_lock)
        {
            if (!_active) return;
            _taken[t] = snapshot;
            Monitor.PulseAll(_lock);
        }
    }

    private static bool IsRestart(long r) =>
        r == -Errno.ERESTARTSYS || r == -Errno.ERESTARTNOINTR || r == -Errno.ERESTARTNOHAND || r == -Errno.ERESTART_RESTARTBLOCK;

    /// <summary>
    /// Pauses the kernel (if it is not already) and waits until every live task recorded its
    /// snapshot. Returns them by task; throws with a one-line message naming the tasks that did
    /// not reach a safe point within <paramref name="timeout"/> (the kernel stays paused: the
    /// caller ends the capture with <see cref="End"/>).
    /// </summary>
    public IReadOnlyDictionary<Task, TaskSnapshot> CaptureAll(Kernel kernel, TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_active) throw new InvalidOperationException("a checkpoint is already in progress");
            _active = true;
            _taken.Clear();
        }
        kernel.PauseAll();
        kernel.PauseEvents.Notify();   // tasks already paused wake up to record their state
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_lock)
        {
            while (true)
            {
                var missing = kernel.Tasks().Where(t => !t.Exited && !_taken.ContainsKey(t)).ToList();
                if (missing.Count == 0) return new Dictionary<Task, TaskSnapshot>(_taken);
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    string who = string.Join(", ", missing.Take(5).Select(t => $"pid {t.Pid} tid {t.Tid} ({t.Name})"));
                    throw new InvalidOperationException($"checkpoint: {who} did not stop at a safe point (stopped by a signal or stuck in the Sentry)");
                }
                Monitor.Wait(_lock, (int)Math.Min(left, 50));
            }
        }
    }

    /// <summary>Ends a capture (the caller then resumes or kills the tasks).</summary>
    public void End()
    {
        lock (_lock)
        {
            _active = false;
            _taken.Clear();
        }
    }
}
