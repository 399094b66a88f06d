using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>restore</c>: starts a container from a checkpoint image.</summary>
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

    [Option("work-path", Hidden = true)]
    public string? WorkPath { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context) => throw new NotSupportedYetError("restore");
}
