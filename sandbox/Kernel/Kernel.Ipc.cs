using RunscNet.Sentry.Kernel.Ipc;

namespace RunscNet.Sentry.Kernel;

public sealed partial class Kernel
{
    /// <summary>The sandbox's System V IPC namespace (semaphores, message queues).</summary>
    public IpcNamespace Ipc { get; } = new();

    /// <summary>A process has exited: its SEM_UNDO adjustments are applied.</summary>
    internal void ReleaseIpcOf(ThreadGroup tg)
    {
        lock (Ipc.Lock)
        {
            foreach (var set in Ipc.Semaphores.All)
                if (set.HasUndo(tg)) set.ApplyUndo(tg);
        }
    }
}
