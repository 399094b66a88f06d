using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>delete</c>: removes a stopped (or, with --force, any) container and its sandbox.</summary>
[Verb("delete", HelpText = "delete a container (--force: even a running one)")]
public sealed class DeleteCommand : ICommand
{
    [Option('f', "force", HelpText = "kill the container first if it is running")]
    public bool Force { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        Container.Delete(context.Global.Root, Id, Force);
        return 0;
    }
}
