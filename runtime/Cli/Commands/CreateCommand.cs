using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>create</c>: sets up the sandbox and gofer; the container's program waits for <c>start</c>.</summary>
[Verb("create", HelpText = "create a container; its program starts with `start`")]
public sealed class CreateCommand : ICommand
{
    [Option('b', "bundle", Default = ".", MetaValue = "DIR", HelpText = "bundle directory (holds config.json)")]
    public string Bundle { get; set; } = ".";

    [Option("pid-file", MetaValue = "FILE", HelpText = "write the container's pid to FILE")]
    public string? PidFile { get; set; }

    [Option("console-socket", MetaValue = "PATH", HelpText = "unix socket that receives the terminal's master fd")]
    public string? ConsoleSocket { get; set; }

    [Option("preserve-fds", MetaValue = "N", HelpText = "pass N more fds (3...) to the container")]
    public int PreserveFds { get; set; }

    [Option("no-pivot", Hidden = true, HelpText = "accepted for runc compatibility")]
    public bool NoPivot { get; set; }

    [Option("no-new-keyring", Hidden = true, HelpText = "accepted for runc compatibility")]
    public bool NoNewKeyring { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        Container.Create(new CreateOptions(Id, Bundle, PidFile, ConsoleSocket, PreserveFds), context.Global);
        return 0;
    }
}
