using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>checkpoint</c>: saves the whole sandbox to an image.</summary>
[Verb("checkpoint", HelpText = "save a running container to an image")]
public sealed class CheckpointCommand : ICommand
{
    [Option("image-path", MetaValue = "DIR", HelpText = "directory of the image")]
    public string? ImagePath { get; set; }

    [Option("leave-running", HelpText = "keep the container running after the checkpoint")]
    public bool LeaveRunning { get; set; }

    [Option("work-path", Hidden = true)]
    public string? WorkPath { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context) => throw new NotSupportedYetError("checkpoint");
}
