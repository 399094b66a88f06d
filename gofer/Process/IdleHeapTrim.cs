namespace RunscNet.Gofer.Process;

/// <summary>
/// One aggressive, compacting collection shortly after a sandbox process (gofer, boot) has set
/// itself up: start-up garbage (spec parsing, protocol serializers, mount setup) otherwise stays
/// resident for the container's whole life. Then the start-up code's pages are released too
/// (<see cref="ImagePageTrim"/>).
/// </summary>
public static class IdleHeapTrim
{
    /// <summary>Collects now, on the calling thread (a few milliseconds for a start-up heap).</summary>
    public static void Now()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        ImagePageTrim.Now();
    }

    /// <summary>Collects once, <paramref name="delay"/> from now, on its own short-lived thread (off the start path).</summary>
    public static void Schedule(TimeSpan delay)
    {
        var thread = new Thread(() =>
        {
            Thread.Sleep(delay);
            Now();
        }, 256 * 1024) { IsBackground = true, Name = "heap-trim" };
        thread.Start();
    }
}
