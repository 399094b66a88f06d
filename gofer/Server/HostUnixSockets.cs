namespace RunscNet.Gofer;

/// <summary>
/// Which host unix sockets in the container's mounts the sandbox may use (runsc's
/// <c>--host-uds</c>). By default none: a socket file bind-mounted from the host is an inert
/// file in the container (connect gives ECONNREFUSED), so a container cannot reach host daemons
/// (docker.sock, systemd's, dbus) just because their directory was mounted.
/// </summary>
[Flags]
public enum HostUnixSockets
{
    /// <summary>Neither connect to nor bind host sockets.</summary>
    None = 0,

    /// <summary>Connect to existing host sockets ("open").</summary>
    Open = 1,

    /// <summary>Bind new sockets on the host ("create").</summary>
    Create = 2,

    /// <summary>Both ("all").</summary>
    All = Open | Create,
}

/// <summary>The <c>--host-uds</c> names.</summary>
public static class HostUnixSocketsNames
{
    /// <summary>Parses none, open, create or all; null for anything else.</summary>
    public static HostUnixSockets? Parse(string? name) => name switch
    {
        "none" or "" or null => HostUnixSockets.None,
        "open" => HostUnixSockets.Open,
        "create" => HostUnixSockets.Create,
        "all" => HostUnixSockets.All,
        _ => null,
    };
}
