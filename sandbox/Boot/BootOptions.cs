namespace RunscNet.Sentry.Boot;

/// <summary>
/// What `runsc-net boot` is given by create (parsed by the runtime's BootCommand). The process
/// starts in fresh pid/uts/ipc/mount (and net) namespaces with these fds inherited.
/// </summary>
public sealed class BootOptions
{
    /// <summary>The container ID.</summary>
    public string ContainerId { get; set; } = "";

    /// <summary>fd of the container's exit record file (open for writing), where boot records init's wait status; -1: none.</summary>
    public int ExitFd { get; set; } = -1;

    /// <summary>Absolute path of the bundle (for messages; the spec comes from <see cref="SpecFd"/>).</summary>
    public string BundleDir { get; set; } = "";

    /// <summary>
    /// fd of the validated spec JSON (a memfd, read it with RunscNet.StateFile.Oci.SpecFile.ReadFromFd).
    /// <c>root.path</c> in it is absolute.
    /// </summary>
    public int SpecFd { get; set; } = -1;

    /// <summary>fd of the listening unix stream control socket: serve it with Control.ControlServer.</summary>
    public int ControlFd { get; set; } = -1;

    /// <summary>fd of the SOCK_SEQPACKET connection to the container's gofer.</summary>
    public int GoferFd { get; set; } = -1;

    /// <summary>fd of the terminal (pty slave) for the container's init, or -1 (then stdio are fds 0, 1, 2).</summary>
    public int ConsoleFd { get; set; } = -1;

    /// <summary>How many fds create preserved for init (--preserve-fds); boot holds them from <see cref="PreservedFdBase"/> up.</summary>
    public int PreservedFds { get; set; }

    /// <summary>Boot's fd number of the first preserved fd (init gets it as fd 3).</summary>
    public const int PreservedFdBase = 10;

    /// <summary>Network mode: sandbox, none or host.</summary>
    public string Network { get; set; } = "sandbox";

    /// <summary>The platform that runs application code (--platform): ptrace or systrap (see Platform.PlatformFactory).</summary>
    public string Platform { get; set; } = "systrap";

    /// <summary>Root file system overlay (--overlay): none, or memory (copy-up layer in the Sentry).</summary>
    public string Overlay { get; set; } = "none";

    /// <summary>Host unix sockets the container may use (--host-uds): none, open, create or all.</summary>
    public string HostUds { get; set; } = "none";

    /// <summary>Log every system call served (--strace).</summary>
    public bool Strace { get; set; }

    /// <summary>Writes a line to this process's debug log; null when debug logging is off.</summary>
    public Action<string>? DebugLog { get; set; }
}
