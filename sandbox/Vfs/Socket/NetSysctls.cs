namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// The network sysctls the Sentry's own permission checks depend on, read from its /proc/sys
/// (the sandbox's network namespace) once at boot, before it leaves the host's tree. The
/// container cannot change them (its /proc/sys is a read-only view), so one reading holds.
/// Each value falls back to Linux's default when it cannot be read (unit tests).
/// </summary>
internal static class NetSysctls
{
    private static volatile Values? s_values;

    private sealed record Values(int UnprivilegedPortStart, uint PingLow, uint PingHigh,
        HashSet<string> AvailableCongestion, HashSet<string> AllowedCongestion, HashSet<string> AvailableUlp);

    /// <summary>Reads the values now (boot calls this while /proc/sys is reachable).</summary>
    public static void Capture() => s_values = Read();

    private static Values Current => s_values ??= Read();

    /// <summary>net.ipv4.ip_unprivileged_port_start (also used for IPv6): ports below it need CAP_NET_BIND_SERVICE.</summary>
    public static int UnprivilegedPortStart => Current.UnprivilegedPortStart;

    /// <summary>net.ipv4.ping_group_range: the groups that may open ICMP datagram ("ping") sockets.</summary>
    public static (uint Low, uint High) PingGroupRange => (Current.PingLow, Current.PingHigh);

    /// <summary>Congestion-control algorithms the kernel has now (tcp_available_congestion_control).</summary>
    public static IReadOnlySet<string> AvailableCongestionControl => Current.AvailableCongestion;

    /// <summary>Algorithms unprivileged sockets may choose (tcp_allowed_congestion_control).</summary>
    public static IReadOnlySet<string> AllowedCongestionControl => Current.AllowedCongestion;

    /// <summary>TCP upper-layer protocols the kernel has now (tcp_available_ulp).</summary>
    public static IReadOnlySet<string> AvailableUlp => Current.AvailableUlp;

    private static Values Read()
    {
        int portStart = int.TryParse(Sysctl("ip_unprivileged_port_start"), out int p) ? p : 1024;
        string[] ping = (Sysctl("ping_group_range") ?? "1 0").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        uint low = 1, high = 0;
        if (ping.Length == 2 && uint.TryParse(ping[0], out uint l) && uint.TryParse(ping[1], out uint h)) { low = l; high = h; }
        return new Values(portStart, low, high, Words("tcp_available_congestion_control", "reno cubic"),
            Words("tcp_allowed_congestion_control", "reno cubic"), Words("tcp_available_ulp", ""));
    }

    private static HashSet<string> Words(string name, string fallback)
        => new((Sysctl(name) ?? fallback).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    private static string? Sysctl(string name)
    {
        try { return File.ReadAllText("/proc/sys/net/ipv4/" + name).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
