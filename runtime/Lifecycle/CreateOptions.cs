namespace RunscNet.Runtime.Lifecycle;

/// <summary>What create (and run) are asked to do.</summary>
/// <param name="Id">The new container's ID.</param>
/// <param name="BundleDir">The bundle directory (relative paths are taken from the working directory).</param>
/// <param name="PidFile">File to write the container pid to, or null.</param>
/// <param name="ConsoleSocket">Socket that receives the terminal master, or null.</param>
/// <param name="PreserveFds">How many fds above 2 to hand to the container.</param>
/// <param name="CallerTerminal">With process.terminal and no console socket, use our own stdin's terminal (run in the foreground).</param>
public sealed record CreateOptions(string Id, string BundleDir, string? PidFile, string? ConsoleSocket, int PreserveFds,
    bool CallerTerminal = false);

/// <summary>What exec is asked to run (flags of the exec command).</summary>
public sealed class ExecOptions
{
    public string? ProcessFile { get; set; }
    public bool Tty { get; set; }
    public string? ConsoleSocket { get; set; }
    public bool Detach { get; set; }
    public string? PidFile { get; set; }
    public string? Cwd { get; set; }
    public List<string> Env { get; set; } = [];
    public string? User { get; set; }
    public List<string> AdditionalGids { get; set; } = [];
    public List<string> Capabilities { get; set; } = [];
    public bool NoNewPrivileges { get; set; }
    public List<string> Args { get; set; } = [];
    public int PreserveFds { get; set; }
}
