using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>restore</c>: starts a container from a checkpoint image (docs/ARCHITECTURE.md, "Checkpoint and restore").</summary>
[Verb("restore", HelpText = "start a container from a checkpoint image")]
public sealed class RestoreCommand : ICommand
{
    [Option("image-path", MetaValue = "DIR", HelpText = "directory of the image")]
    public string? ImagePath { get; set; }

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

    [Option("pre-dump", Hidden = true)]
    public bool PreDump { get; set; }

    [Option("lazy-pages", Hidden = true)]
    public bool LazyPages { get; set; }

    // Flags podman and containerd pass for CRIU that do not apply here: accepted and ignored.
    [Option("tcp-established", Hidden = true)] public bool TcpEstablished { get; set; }
    [Option("file-locks", Hidden = true)] public bool FileLocks { get; set; }
    [Option("ext-unix-sk", Hidden = true)] public bool ExtUnixSockets { get; set; }
    [Option("shell-job", Hidden = true)] public bool ShellJob { get; set; }
    [Option("manage-cgroups-mode", Hidden = true)] public string? ManageCgroupsMode { get; set; }
    [Option("empty-ns", Hidden = true)] public string? EmptyNamespace { get; set; }
    [Option("parent-path", Hidden = true)] public string? ParentPath { get; set; }
    [Option("no-subreaper", Hidden = true)] public bool NoSubreaper { get; set; }
    [Option("status-fd", Hidden = true)] public string? StatusFd { get; set; }
    [Option("no-pivot", Hidden = true)] public bool NoPivot { get; set; }
    [Option("auto-dedup", Hidden = true)] public bool AutoDedup { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        if (PreDump) throw new RuntimeError("restore: --pre-dump is not supported");
        if (LazyPages) throw new RuntimeError("restore: --lazy-pages is not supported");
        if (string.IsNullOrEmpty(ImagePath)) throw new RuntimeError("restore: --image-path is required");
        var options = new CreateOptions(Id, Bundle, PidFile, ConsoleSocket, 0);
        var container = Container.Restore(options, Path.GetFullPath(ImagePath), context.Global);
        if (Detach) return 0;
        return ContainerRun.Attach(container, options, Keep, context.Global);
    }
}
