using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Kernel
{
    /// <summary>The sandbox's file system tree.</summary>
    public VirtualFileSystem Vfs { get; } = new();
}
