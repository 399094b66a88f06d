namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    /// <summary>
    /// The I/O priority (ioprio_set(2)): class in bits 13-15, level in bits 0-12; 0 (IOPRIO_CLASS_NONE)
    /// until set. Inherited by clone; the host's I/O scheduler is not told.
    /// </summary>
    public int IoPriority { get; set; }
}
