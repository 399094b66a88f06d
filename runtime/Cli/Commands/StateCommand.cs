using RunscNet.StateFile;
using System.Text.Json;
using CommandLine;
using RunscNet.Runtime.Lifecycle;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>state</c>: prints the OCI state JSON of a container (an ID prefix is enough).</summary>
[Verb("state", HelpText = "print the OCI state of a container as JSON")]
public sealed class StateCommand : ICommand
{
    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        OciState state = Container.Load(context.Global.Root, Id).GetOciState();
        RawStdio.Out.WriteLine(JsonSerializer.Serialize(state, OciStateJsonContext.Default.OciState));
        return 0;
    }
}
