using RunscNet.StateFile;
using CommandLine;
using RunscNet.Runtime.Lifecycle;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>wait</c>: waits for the container to exit and prints its exit status as JSON.</summary>
[Verb("wait", HelpText = "wait for the container to exit; exits with its status")]
public sealed class WaitCommand : ICommand
{
    [Option("pid", Default = 0, HelpText = "wait for this process of the container (its pid in the sandbox) instead of init")]
    public int Pid { get; set; }

    [Option("kill-on-exit", HelpText = "with --pid: SIGKILL the process if this wait ends first (it is killed)")]
    public bool KillOnExit { get; set; }

    [Option("ready-fd", Default = -1, HelpText = "with --pid: close this fd once the wait request reached the sandbox")]
    public int ReadyFd { get; set; }

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        if (KillOnExit && Pid <= 0) throw new RuntimeError("wait: --kill-on-exit needs --pid");
        var container = Container.Load(context.Global.Root, Id);
        int status = Pid > 0 ? container.WaitProcess(Pid, KillOnExit, ReadyFd >= 0 ? () => FileDescriptor.Close(ReadyFd) : null) : container.Wait();
        int exit = WaitStatus.ToExitCode(status);
        RawStdio.Out.WriteLine($"{{\"id\":\"{Id}\",\"exitStatus\":{exit}}}");
        return exit;
    }
}
