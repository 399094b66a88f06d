namespace RunscNet.Gofer;

/// <summary>How a <see cref="GoferServer"/> serves its tree.</summary>
internal sealed class GoferServerOptions
{
    /// <summary>Refuse every write with EROFS, whatever the mounts say (read-only mounts are always refused).</summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// An fd of the <c>/proc/self/fd</c> directory, opened before pivot_root (the gofer's final root
    /// has no /proc); the server takes ownership. -1: the server opens <c>/proc/self/fd</c> itself.
    /// Used to re-open O_PATH fds (<c>openat(procFd, "N")</c>) without following any symlink.
    /// </summary>
    public int ProcSelfFdDirectory { get; set; } = -1;

    /// <summary>
    /// Called once, on the serving thread, the first time no request came for
    /// <see cref="IdleAfter"/> (the container is set up and idles): the gofer releases its
    /// start-up memory there. None when null.
    /// </summary>
    public Action? OnFirstIdle { get; set; }

    /// <summary>How long without a request counts as idle for <see cref="OnFirstIdle"/>.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Host unix sockets the server may connect to (<see cref="HostUnixSockets.Open"/>) or bind
    /// (<see cref="HostUnixSockets.Create"/>) for the Sentry; other requests fail with EPERM.
    /// </summary>
    public HostUnixSockets HostUds { get; set; }

    /// <summary>
    /// The most O_PATH fds the handles keep open (least recently used ones are closed and reopened
    /// by name when used again). 0: derived from RLIMIT_NOFILE (<see cref="Server.HandleTable.CapacityFor"/>).
    /// </summary>
    public int MaxOpenHandles { get; set; }

    /// <summary>Where diagnostic lines go (none when null).</summary>
    public Action<string>? Log { get; set; }
}
