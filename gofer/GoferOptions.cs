namespace RunscNet.Gofer;

/// <summary>
/// What `runsc-net gofer` is given by create (parsed by the runtime's GoferCommand). The process
/// starts in a fresh mount namespace with these fds inherited.
/// </summary>
public sealed class GoferOptions
{
    /// <summary>The container ID.</summary>
    public string ContainerId { get; set; } = "";

    /// <summary>Absolute path of the bundle.</summary>
    public string BundleDir { get; set; } = "";

    /// <summary>
    /// fd of the validated spec JSON (a memfd, read it with RunscNet.StateFile.Oci.SpecFile.ReadFromFd);
    /// <c>root.path</c> in it is absolute.
    /// </summary>
    public int SpecFd { get; set; } = -1;

    /// <summary>fd of the SOCK_SEQPACKET connection the Sentry sends requests on.</summary>
    public int SocketFd { get; set; } = -1;

    /// <summary>Writes a line to this process's debug log; null when debug logging is off.</summary>
    public Action<string>? DebugLog { get; set; }
}
