using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>restore</c>: starts a container from a checkpoint image (docs/ARCHITECTURE.md, "Checkpoint and restore").</summary>
[Verb("restore", HelpText = "start a container from a checkpoint image")]
public sealed class RestoreCommand : CriuCompatibleCommand, ICommand
{
    [Option('b', "bundle", Default = ".", MetaValue = "DIR", HelpText = "bundle directory")]
    public string Bundle { get; set; } = ".";

    [Option('d', "detach", HelpText = "return once the container runs")]
    public bool Detach { get; set; }

    [Option("pid-file", MetaValue = "FILE", HelpText = "write the container's pid to FILE")]
    public string? PidFile { get; set; }

    [Option("console-socket", MetaValue = "PATH", HelpText = "unix socket that receives the terminal's master fd")]
    public string? ConsoleSocket { get; set; }

    [Option("work-path", MetaValue = "DIR", HelpText = "directory for logs (accepted; nothing is written there)")]
    public string? WorkPath { get; set; }

    [Option("keep", HelpText = "do not delete the container after it exits (without --detach)")]
    public bool Keep { get; set; }

    // More CRIU flags podman and containerd pass for this verb: accepted and ignored.
    [Option("no-subreaper", Hidden = true)] public bool NoSubreaper { get; set; }
    [Option("no-pivot", Hidden = true)] public bool NoPivot { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        string imagePath = CheckedImagePath("restore", "--pre-dump is not supported");
        var options = new CreateOptions(Id, Bundle, PidFile, ConsoleSocket, 0);
        var container = Container.Restore(options, imagePath, context.Global, ImageKeyBytes());
        if (Detach) return 0;
        return ContainerRun.Attach(container, options, Keep, context.Global);
    }
}
