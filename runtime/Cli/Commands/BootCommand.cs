using CommandLine;
using RunscNet.Runtime.Logging;
using RunscNet.Sentry.Boot;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary>Internal <c>boot</c>: the sandbox process (the Sentry), started by <c>create</c>.</summary>
[Verb("boot", Hidden = true, HelpText = "internal: run the sandbox (Sentry)")]
public sealed class BootCommand : ICommand
{
    [Option("container-id", Required = true, MetaValue = "ID")]
    public string ContainerId { get; set; } = "";

    [Option("bundle", Required = true, MetaValue = "DIR")]
    public string Bundle { get; set; } = "";

    [Option("spec-fd", Required = true, MetaValue = "FD", HelpText = "fd of the validated spec JSON")]
    public int SpecFd { get; set; } = -1;

    [Option("control-fd", Required = true, MetaValue = "FD", HelpText = "fd of the listening control socket")]
    public int ControlFd { get; set; } = -1;

    [Option("gofer-fd", Required = true, MetaValue = "FD", HelpText = "fd of the connection to the gofer")]
    public int GoferFd { get; set; } = -1;

    [Option("console-fd", Default = -1, MetaValue = "FD", HelpText = "fd of the terminal given to the container")]
    public int ConsoleFd { get; set; } = -1;

    [Option("preserved-fds", Default = 0, MetaValue = "N", HelpText = "number of fds held from 10 up for the container's init (as its fds 3...)")]
    public int PreservedFds { get; set; }

    [Option("exit-fd", Default = -1, MetaValue = "FD", HelpText = "fd of the exit record file init's wait status is written to")]
    public int ExitFd { get; set; } = -1;

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        var options = new BootOptions
        {
            ContainerId = ContainerId,
            ExitFd = ExitFd,
            BundleDir = Bundle,
            SpecFd = SpecFd,
            ControlFd = ControlFd,
            GoferFd = GoferFd,
            ConsoleFd = ConsoleFd,
            PreservedFds = PreservedFds,
            Network = context.Global.Network,
            Platform = context.Global.Platform,
            Overlay = context.Global.Overlay,
            HostUds = context.Global.HostUds,
            Strace = context.Global.Strace,
            DebugLog = RuntimeLog.DebugEnabled ? RuntimeLog.Debug : null,
        };
        return BootProcess.Run(options);
    }
}
