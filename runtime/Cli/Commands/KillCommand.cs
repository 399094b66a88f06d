using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>kill</c>: sends a signal to the container's init (or, with --all, to all its processes).</summary>
[Verb("kill", HelpText = "send a signal (default SIGTERM) to the container")]
public sealed class KillCommand : ICommand
{
    [Option('a', "all", HelpText = "signal every process of the container")]
    public bool All { get; set; }

    [Option("pid", MetaValue = "PID", HelpText = "signal only this process (runsc)")]
    public int Pid { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    [Value(1, MetaName = "signal", Default = "SIGTERM")]
    public string Signal { get; set; } = "SIGTERM";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        int signal = SignalParser.Parse(Signal);
        if (Pid != 0) throw new NotSupportedYetError("kill --pid");
        Container.Load(context.Global.Root, Id).Signal(signal, All);
        return 0;
    }
}
