namespace RunscNet.Sentry.Kernel;

/// <summary>
/// The Sentry's kernel: the root of every kernel object of one sandbox (tasks, PID namespace,
/// VFS, clocks). Subsystems add their parts in partial files (Kernel.Vfs.cs, ...).
/// </summary>
internal sealed partial class Kernel
{
}
