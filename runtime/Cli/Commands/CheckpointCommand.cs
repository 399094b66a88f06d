using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>checkpoint</c>: saves the container's processes to an image (docs/ARCHITECTURE.md, "Checkpoint and restore").</summary>
[Verb("checkpoint", HelpText = "save a running container to an image")]
public sealed class CheckpointCommand : ICommand
{
    [Option("image-path", MetaValue = "DIR", HelpText = "directory of the image")]
    public string? ImagePath { get; set; }

    [Option("leave-running", HelpText = "keep the container running after the checkpoint")]
    public bool LeaveRunning { get; set; }

    [Option("work-path", MetaValue = "DIR", HelpText = "work directory (gets an empty CRIU stats-dump for podman's export)")]
    public string? WorkPath { get; set; }

    [Option("pre-dump", Hidden = true)]
    public bool PreDump { get; set; }

    [Option("lazy-pages", Hidden = true)]
    public bool LazyPages { get; set; }

    // Flags podman and containerd pass for CRIU that do not apply here: accepted and ignored.
    [Option("tcp-established", Hidden = true)] public bool TcpEstablished { get; set; }
    [Option("file-locks", Hidden = true)] public bool FileLocks { get; set; }
    [Option("ext-unix-sk", Hidden = true)] public bool ExtUnixSockets { get; set; }
    [Option("shell-job", Hidden = true)] public bool ShellJob { get; set; }
    [Option("manage-cgroups-mode", Hidden = true)] public string? ManageCgroupsMode { get; set; }
    [Option("empty-ns", Hidden = true)] public string? EmptyNamespace { get; set; }
    [Option("parent-path", Hidden = true)] public string? ParentPath { get; set; }
    [Option("status-fd", Hidden = true)] public string? StatusFd { get; set; }
    [Option("page-server", Hidden = true)] public string? PageServer { get; set; }
    [Option("auto-dedup", Hidden = true)] public bool AutoDedup { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        if (PreDump) throw new RuntimeError("checkpoint: --pre-dump (incremental checkpoints) is not supported");
        if (LazyPages) throw new RuntimeError("checkpoint: --lazy-pages is not supported");
        if (string.IsNullOrEmpty(ImagePath)) throw new RuntimeError("checkpoint: --image-path is required");
        Container.Load(context.Global.Root, Id).Checkpoint(Path.GetFullPath(ImagePath), WorkPath == null ? null : Path.GetFullPath(WorkPath), LeaveRunning);
        return 0;
    }
}
