using CommandLine;
using RunscNet.Gofer;
using RunscNet.Runtime.Logging;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary>Internal <c>gofer</c>: the container's file server, started by <c>create</c>.</summary>
[Verb("gofer", Hidden = true, HelpText = "internal: serve the container's files")]
public sealed class GoferCommand : ICommand
{
    [Option("container-id", Required = true, MetaValue = "ID")]
    public string ContainerId { get; set; } = "";

    [Option("bundle", Required = true, MetaValue = "DIR")]
    public string Bundle { get; set; } = "";

    [Option("spec-fd", Default = -1, MetaValue = "FD", HelpText = "fd of the validated spec JSON")]
    public int SpecFd { get; set; } = -1;

    [Option("overlay", Default = "none", MetaValue = "none|memory", HelpText = "root file system overlay")]
    public string Overlay { get; set; } = "none";

    [Option("socket-fd", Required = true, MetaValue = "FD", HelpText = "fd of the SOCK_SEQPACKET connection to the Sentry")]
    public int SocketFd { get; set; } = -1;

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        var options = new GoferOptions
        {
            ContainerId = ContainerId,
            Bundle = Bundle,
            SpecFd = SpecFd,
            SocketFd = SocketFd,
            Overlay = Overlay != "none" ? Overlay : context.Global.Overlay,
            HostUds = context.Global.HostUds,
            DebugLogPath = RuntimeLog.DebugLogPath,
        };
        return GoferProcess.Run(options);
    }
}
