using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>start</c>: runs the program of a created container.</summary>
[Verb("start", HelpText = "start the program of a created container")]
public sealed class StartCommand : ICommand
{
    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        Container.Load(context.Global.Root, Id).Start();
        return 0;
    }
}
