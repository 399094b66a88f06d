using System.Collections.Concurrent;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// Starts every stub process from one long-lived Sentry thread. A stub dies with SIGKILL when
/// the thread that created it ends (PR_SET_PDEATHSIG counts the creating thread, not the
/// process), and a task thread ends with its application thread while the process's other
/// threads still run in the same stub; so no task thread may be a stub's parent.
/// </summary>
internal sealed unsafe class StubSpawner
{
    private sealed class Job
    {
        public nint Request;
        public long Result;
        public readonly ManualResetEventSlim Done = new(false);
    }

    private readonly BlockingCollection<Job> _jobs = new();

    /// <summary>Starts the spawning thread (a background thread living as long as the Sentry).</summary>
    public StubSpawner()
    {
        var thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = "stub-spawner" };
        thread.Start();
    }

    /// <summary>Runs <see cref="StubLauncher.Spawn"/> on the spawning thread; returns the stub's pid or -errno.</summary>
    public long Spawn(StubLauncher.Request* request)
    {
        var job = new Job { Request = (nint)request };
        _jobs.Add(job);
        job.Done.Wait();
        job.Done.Dispose();
        return job.Result;
    }

    private void Loop()
    {
        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            job.Result = StubLauncher.Spawn((StubLauncher.Request*)job.Request);
            job.Done.Set();
        }
    }
}
