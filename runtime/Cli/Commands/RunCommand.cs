using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>run</c>: create + start, then (unless detached) wait and delete, exiting with the container's status.</summary>
[Verb("run", HelpText = "create and start a container, wait for it and delete it")]
public sealed class RunCommand : ICommand
{
    [Option('b', "bundle", Default = ".", MetaValue = "DIR", HelpText = "bundle directory (holds config.json)")]
    public string Bundle { get; set; } = ".";

    [Option('d', "detach", HelpText = "return once the container has started")]
    public bool Detach { get; set; }

    [Option("pid-file", MetaValue = "FILE", HelpText = "write the container's pid to FILE")]
    public string? PidFile { get; set; }

    [Option("console-socket", MetaValue = "PATH", HelpText = "unix socket that receives the terminal's master fd")]
    public string? ConsoleSocket { get; set; }

    [Option("preserve-fds", MetaValue = "N", HelpText = "pass N more fds (3...) to the container")]
    public int PreserveFds { get; set; }

    [Option("keep", HelpText = "do not delete the container after it exits")]
    public bool Keep { get; set; }

    [Option("no-pivot", Hidden = true, HelpText = "accepted for runc compatibility")]
    public bool NoPivot { get; set; }

    [Option("no-new-keyring", Hidden = true, HelpText = "accepted for runc compatibility")]
    public bool NoNewKeyring { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
        => ContainerRun.Run(new CreateOptions(Id, Bundle, PidFile, ConsoleSocket, PreserveFds), Detach, Keep, context.Global);
}
