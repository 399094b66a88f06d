using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>update</c>: changes a running container's resource limits (containerd calls it).</summary>
[Verb("update", HelpText = "update the resource limits of a container")]
public sealed class UpdateCommand : ICommand
{
    [Option('r', "resources", MetaValue = "FILE", HelpText = "JSON resources (- for stdin)")]
    public string? Resources { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context) => throw new NotSupportedYetError("update");
}
