using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel;

public sealed partial class Kernel
{
    /// <summary>The sandbox's file system tree.</summary>
    public VirtualFileSystem Vfs { get; } = new();
}
