using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>events</c>: container statistics (cpu, memory, pids) from the sandbox's cgroup.</summary>
[Verb("events", HelpText = "print container events and statistics")]
public sealed class EventsCommand : ICommand
{
    [Option("stats", HelpText = "print statistics once and exit")]
    public bool Stats { get; set; }

    [Option("interval", Default = "5s", MetaValue = "DURATION", HelpText = "time between statistics")]
    public string Interval { get; set; } = "5s";

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context) => throw new NotSupportedYetError("events");
}
