using RunscNet.StateFile;
using System.Text.Json;
using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>ps</c>: the processes of a container (table, or JSON: the list of host-visible pids).</summary>
[Verb("ps", HelpText = "list the processes of a container")]
public sealed class PsCommand : ICommand
{
    [Option('f', "format", Default = "table", MetaValue = "table|json", HelpText = "output format")]
    public string Format { get; set; } = "table";

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    [Value(1, MetaName = "ps-options")]
    public IEnumerable<string> PsOptions { get; set; } = [];

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        if (Format is not ("table" or "json")) throw new RuntimeError($"invalid --format {Format}: use table or json");
        var processes = Container.Load(context.Global.Root, Id).Processes();
        if (Format == "json")
        {
            // runc prints a JSON array of pids; podman reads it.
            var pids = processes.Select(p => p.Pid).ToList();
            RawStdio.Out.WriteLine(JsonSerializer.Serialize(pids, RuntimeJsonContext.Default.ListInt32));
            return 0;
        }
        RawStdio.Out.WriteLine($"{"UID",-8} {"PID",-8} {"PPID",-8} {"STATE",-6} CMD");
        foreach (var p in processes)
            RawStdio.Out.WriteLine($"{p.Uid,-8} {p.Pid,-8} {p.PPid,-8} {p.State,-6} {p.Command}");
        return 0;
    }
}
