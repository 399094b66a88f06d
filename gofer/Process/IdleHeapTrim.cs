namespace RunscNet.Gofer.Process;

/// <summary>
/// One aggressive, compacting collection shortly after a sandbox process (gofer, boot) has set
/// itself up: start-up garbage (spec parsing, protocol serializers, mount setup) otherwise stays
/// resident for the container's whole life. Runs on its own short-lived thread, off the start path.
/// </summary>
public static class IdleHeapTrim
{
    /// <summary>Collects once, <paramref name="delay"/> from now.</summary>
    public static void Schedule(TimeSpan delay)
    {
        var thread = new Thread(() =>
        {
            Thread.Sleep(delay);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }, 256 * 1024) { IsBackground = true, Name = "heap-trim" };
        thread.Start();
    }
}
