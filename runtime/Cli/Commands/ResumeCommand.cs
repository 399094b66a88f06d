using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>resume</c>: continues a paused container.</summary>
[Verb("resume", HelpText = "resume a paused container")]
public sealed class ResumeCommand : ICommand
{
    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        Container.Load(context.Global.Root, Id).Resume();
        return 0;
    }
}
