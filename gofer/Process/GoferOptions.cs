namespace RunscNet.Gofer;

/// <summary>What the <c>runsc-net gofer</c> command passes to <see cref="GoferProcess.Run"/>.</summary>
public sealed class GoferOptions
{
    /// <summary>The OCI bundle directory (holding config.json).</summary>
    public string Bundle { get; set; } = "";

    /// <summary>The container's ID (for log lines).</summary>
    public string ContainerId { get; set; } = "";

    /// <summary>
    /// An inherited fd holding the spec as validated by the runtime (a memfd, read with pread from
    /// offset 0, then closed); -1: read the bundle's config.json instead.
    /// </summary>
    public int SpecFd { get; set; } = -1;

    /// <summary>The inherited fd of the gofer's end of the SOCK_SEQPACKET pair shared with the Sentry.</summary>
    public int SocketFd { get; set; } = -1;

    /// <summary>
    /// "none" (default: writes reach the container's rootfs) or "memory" (the Sentry keeps a
    /// copy-up layer; the gofer then serves the rootfs read-only so the host rootfs is never written).
    /// </summary>
    public string Overlay { get; set; } = "none";

    /// <summary>
    /// Host unix sockets the gofer may reach for the Sentry (runsc's --host-uds): "none" (default:
    /// connect and bind requests fail with EPERM), "open" (connect to existing ones), "create"
    /// (bind new ones), "all".
    /// </summary>
    public string HostUds { get; set; } = "none";

    /// <summary>A file to append diagnostic lines to (none when null or empty).</summary>
    public string? DebugLogPath { get; set; }

    /// <summary>Install the seccomp allowlist (on by default; off only for debugging).</summary>
    public bool Seccomp { get; set; } = true;
}
