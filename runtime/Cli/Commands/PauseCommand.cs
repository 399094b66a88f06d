using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>pause</c>: stops every task of the container.</summary>
[Verb("pause", HelpText = "suspend every process of the container")]
public sealed class PauseCommand : ICommand
{
    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        Container.Load(context.Global.Root, Id).Pause();
        return 0;
    }
}
