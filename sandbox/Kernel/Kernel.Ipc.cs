using RunscNet.Sentry.Kernel.Ipc;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Kernel
{
    /// <summary>The sandbox's System V IPC namespace (semaphores, message queues).</summary>
    public IpcNamespace Ipc { get; } = new();

    /// <summary>
    /// The address spaces of processes that are running (not exiting), for counting shared
    /// memory attachments. Takes the task lock: call it before <see cref="IpcNamespace.Lock"/>.
    /// </summary>
    public HashSet<Memory.AddressSpace> LiveAddressSpaces(ThreadGroup? except = null)
    {
        var set = new HashSet<Memory.AddressSpace>();
        lock (TaskLock)
        {
            foreach (var g in _groups.Values)
                if (g != except && !g.Zombie && g.AddressSpace is { } mm) set.Add(mm);
        }
        return set;
    }

    /// <summary>
    /// A process is exiting (caller holds the task lock): its SEM_UNDO adjustments are applied and
    /// removed shared memory segments it was the last to hold are freed.
    /// </summary>
    internal void ReleaseIpcOf(ThreadGroup tg)
    {
        var live = LiveAddressSpaces(tg);
        lock (Ipc.Lock)
        {
            foreach (var set in Ipc.Semaphores.All)
                if (set.HasUndo(tg)) set.ApplyUndo(tg);
            foreach (var seg in Ipc.SharedMemory.All.ToArray()) Ipc.ReapSegmentLocked(seg, live);
        }
    }
}
