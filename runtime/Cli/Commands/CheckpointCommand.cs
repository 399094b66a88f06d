using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>checkpoint</c>: saves the container's processes to an image (docs/ARCHITECTURE.md, "Checkpoint and restore").</summary>
[Verb("checkpoint", HelpText = "save a running container to an image")]
public sealed class CheckpointCommand : CriuCompatibleCommand, ICommand
{
    [Option("leave-running", HelpText = "keep the container running after the checkpoint")]
    public bool LeaveRunning { get; set; }

    [Option("work-path", MetaValue = "DIR", HelpText = "work directory (gets an empty CRIU stats-dump for podman's export)")]
    public string? WorkPath { get; set; }

    // More CRIU flags podman and containerd pass for this verb: accepted and ignored.
    [Option("page-server", Hidden = true)] public string? PageServer { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        string imagePath = CheckedImagePath("checkpoint", "--pre-dump (incremental checkpoints) is not supported");
        byte[]? key = ImageKeyBytes();
        Container.Load(context.Global.Root, Id).Checkpoint(imagePath, WorkPath == null ? null : Path.GetFullPath(WorkPath), LeaveRunning, key);
        return 0;
    }
}
