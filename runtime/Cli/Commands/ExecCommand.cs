using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>exec</c>: runs a new process in a running container.</summary>
[Verb("exec", HelpText = "run a new process in a running container")]
public sealed class ExecCommand : ICommand
{
    [Option('p', "process", MetaValue = "FILE", HelpText = "process.json (OCI process) describing the process")]
    public string? ProcessFile { get; set; }

    [Option('t', "tty", HelpText = "give the process a terminal")]
    public bool Tty { get; set; }

    [Option("console-socket", MetaValue = "PATH", HelpText = "unix socket that receives the terminal's master fd")]
    public string? ConsoleSocket { get; set; }

    [Option('d', "detach", HelpText = "do not wait for the process")]
    public bool Detach { get; set; }

    [Option("pid-file", MetaValue = "FILE", HelpText = "write the process's pid to FILE")]
    public string? PidFile { get; set; }

    [Option("cwd", MetaValue = "DIR", HelpText = "working directory in the container")]
    public string? Cwd { get; set; }

    [Option('e', "env", MetaValue = "NAME=VALUE", HelpText = "environment variable (repeatable)")]
    public IEnumerable<string> Env { get; set; } = [];

    [Option('u', "user", MetaValue = "UID[:GID]", HelpText = "user to run as")]
    public string? User { get; set; }

    [Option('g', "additional-gids", MetaValue = "GID", HelpText = "supplementary group (repeatable)")]
    public IEnumerable<string> AdditionalGids { get; set; } = [];

    [Option('c', "cap", MetaValue = "CAP", HelpText = "capability to add (repeatable)")]
    public IEnumerable<string> Capabilities { get; set; } = [];

    [Option("no-new-privs", HelpText = "set no_new_privs for the process")]
    public bool NoNewPrivs { get; set; }

    [Option("preserve-fds", MetaValue = "N", HelpText = "pass N more fds (3...) to the process")]
    public int PreserveFds { get; set; }

    [Option("process-label", Hidden = true)]
    public string? ProcessLabel { get; set; }

    [Option("apparmor", Hidden = true)]
    public string? Apparmor { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    [Value(1, MetaName = "command")]
    public IEnumerable<string> Command { get; set; } = [];

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        var request = new ExecOptions
        {
            ProcessFile = ProcessFile, Tty = Tty, ConsoleSocket = ConsoleSocket, Detach = Detach, PidFile = PidFile,
            Cwd = Cwd, Env = Env.ToList(), User = User, AdditionalGids = AdditionalGids.ToList(),
            Capabilities = Capabilities.ToList(), NoNewPrivileges = NoNewPrivs, Args = Command.ToList(),
            PreserveFds = PreserveFds,
        };
        return Container.Load(context.Global.Root, Id).Exec(request);
    }
}
