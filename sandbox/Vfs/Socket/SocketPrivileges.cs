using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// The capability checks Linux makes on sockets, made by the Sentry against the *task's*
/// credentials before it acts on a host socket: the host checks its own call against the
/// Sentry's capabilities, which an unprivileged task must not borrow. Rules, errnos and their
/// order are Linux's (net/core/sock.c, net/ipv4/af_inet.c, ip_sockglue.c, ipv6_sockglue.c,
/// ping.c, tcp.c, af_packet.c, af_netlink.c, rtnetlink.c; socket(7), ip(7), ipv6(7), raw(7),
/// packet(7), netlink(7), rtnetlink(7), capabilities(7)):
/// <list type="bullet">
/// <item>socket: SOCK_RAW inet/inet6 (a real protocol) and any AF_PACKET socket need CAP_NET_RAW
/// (EPERM); ICMP "ping" datagram sockets need the egid or a supplementary group inside
/// net.ipv4.ping_group_range (EACCES).</item>
/// <item>bind: a TCP/UDP/SCTP port below net.ipv4.ip_unprivileged_port_start needs
/// CAP_NET_BIND_SERVICE (EACCES); netlink multicast groups RTNLGRP_IPV4/IPV6_MROUTE_R need
/// CAP_NET_ADMIN (EPERM).</item>
/// <item>setsockopt (current task's capabilities, as sockopt_ns_capable): see
/// <see cref="CheckSetOption"/>.</item>
/// <item>sendmsg control messages: SO_MARK, SO_PRIORITY outside 0..6, IPv6 hop-by-hop and
/// destination options, IPv4 options other than the routing/record/timestamp ones.</item>
/// <item>rtnetlink: every request that is not a GET needs CAP_NET_ADMIN in both the task and
/// the socket's opener (netlink_net_capable); see <see cref="HostSocket"/>'s netlink part.</item>
/// </list>
/// </summary>
internal static class SocketPrivileges
{
    public const int CAP_SETGID = 6, CAP_SETUID = 7, CAP_NET_BIND_SERVICE = 10, CAP_NET_BROADCAST = 11, CAP_NET_ADMIN = 12,
        CAP_NET_RAW = 13, CAP_SYS_ADMIN = 21;
    public const int AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_PACKET = 17;
    private const int IPPROTO_ICMP = 1, IPPROTO_IGMP = 2, IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_ICMPV6 = 58,
        IPPROTO_SCTP = 132, IPPROTO_UDPLITE = 136, IPPROTO_MPTCP = 262;
    public const int SOL_SOCKET = 1, SOL_IP = 0, SOL_IPV6 = 41, SOL_TCP = 6, SOL_NETLINK = 270;

    /// <summary>True if the task may use capability <paramref name="cap"/> (its effective set).</summary>
    private static bool Has(Credentials c, int cap) => c.HasCapability(cap);

    /// <summary>
    /// socket(2): 0, or the errno Linux gives an unprivileged caller. Called before the host
    /// socket exists; errors Linux reports earlier (bad type, protocol out of range,
    /// EPROTONOSUPPORT for raw protocol 0) are left to the host call.
    /// </summary>
    public static int CheckCreate(Credentials c, int family, int type, int protocol)
    {
        if (family == AF_PACKET) return Has(c, CAP_NET_RAW) ? 0 : -Errno.EPERM;
        if (family is not (AF_INET or AF_INET6)) return 0;
        if (type == SocketFile.SOCK_RAW && protocol is > 0 and < 256 && !Has(c, CAP_NET_RAW)) return -Errno.EPERM;
        if (IsPing(family, type, protocol) && !InPingGroup(c)) return -Errno.EACCES;
        return 0;
    }

    /// <summary>An ICMP datagram socket (ping_init_sock checks the caller's groups, no capability).</summary>
    public static bool IsPing(int family, int type, int protocol)
        => type == SocketFile.SOCK_DGRAM && (family == AF_INET ? protocol == IPPROTO_ICMP : family == AF_INET6 && protocol == IPPROTO_ICMPV6);

    private static bool InPingGroup(Credentials c)
    {
        var (low, high) = NetSysctls.PingGroupRange;
        if (c.Egid >= low && c.Egid <= high) return true;
        foreach (uint g in c.Groups) if (g >= low && g <= high) return true;
        return false;
    }

    /// <summary>
    /// The port an inet bind asks for when that port is privileged for this socket kind (TCP, UDP,
    /// SCTP, MPTCP: the protocols that bind through inet_bind's port check; raw and ping sockets
    /// have no port), else 0. Malformed addresses give 0: the host reports them.
    /// </summary>
    public static int PrivilegedPort(int family, int type, int protocol, ReadOnlySpan<byte> address)
    {
        if (family is not (AF_INET or AF_INET6) || type == SocketFile.SOCK_RAW || IsPing(family, type, protocol)) return 0;
        if (protocol is not (0 or IPPROTO_TCP or IPPROTO_UDP or IPPROTO_SCTP or IPPROTO_UDPLITE or IPPROTO_MPTCP)) return 0;
        if (address.Length < (family == AF_INET ? 16 : 24)) return 0;
        int port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        return port != 0 && port < NetSysctls.UnprivilegedPortStart ? port : 0;
    }

    /// <summary>CAP_NET_BIND_SERVICE for a privileged port.</summary>
    public static bool MayBindService(Credentials c) => Has(c, CAP_NET_BIND_SERVICE);

    /// <summary>
    /// setsockopt(2) on a host socket: 0 or Linux's errno for a task without the capability the
    /// option needs. <paramref name="current"/> reads an int option's current value from the host
    /// socket (for the options whose check depends on it).
    /// </summary>
    public static int CheckSetOption(Credentials c, HostSocket s, int level, int name, ReadOnlySpan<byte> value, Func<int, int, int> current)
    {
        bool rawOrAdmin = Has(c, CAP_NET_RAW) || Has(c, CAP_NET_ADMIN);
        bool admin = Has(c, CAP_NET_ADMIN);
        switch (level)
        {
            case SOL_SOCKET:
                {
                    if (value.Length < 4) return 0;   // EINVAL from the host, as Linux checks the length first
                    int v = BinaryPrimitives.ReadInt32LittleEndian(value);
                    switch (name)
                    {
                        case 1: return v != 0 && !admin ? -Errno.EACCES : 0;                   // SO_DEBUG
                        case 12: return (v < 0 || v > 6) && !rawOrAdmin ? -Errno.EPERM : 0;    // SO_PRIORITY beyond TC_PRIO_INTERACTIVE
                        case 32: case 33: return admin ? 0 : -Errno.EPERM;                     // SO_SNDBUFFORCE, SO_RCVBUFFORCE
                        case 36: return rawOrAdmin ? 0 : -Errno.EPERM;                         // SO_MARK
                        case 25: case 62:                                                      // SO_BINDTODEVICE, SO_BINDTOIFINDEX
                            return !Has(c, CAP_NET_RAW) && current(SOL_SOCKET, 62) > 0 ? -Errno.EPERM : 0;
                        case 46: return v >= 0 && v < current(SOL_SOCKET, 46) && !admin ? -Errno.EPERM : 0;   // SO_BUSY_POLL lowered
                        case 69: return v != 0 && !admin ? -Errno.EPERM : 0;                   // SO_PREFER_BUSY_POLL
                        case 70: return v > current(SOL_SOCKET, 70) && !admin ? -Errno.EPERM : 0; // SO_BUSY_POLL_BUDGET raised
                        default: return 0;
                    }
                }
            case SOL_IP when s.Family == AF_INET || s.Family == AF_INET6:
                switch (name)
                {
                    case 19: return IntValue(value) != 0 && !rawOrAdmin ? -Errno.EPERM : 0;   // IP_TRANSPARENT
                    case 16: case 17: return admin ? 0 : -Errno.EPERM;                         // IP_IPSEC_POLICY, IP_XFRM_POLICY
                    case 4: return IpOptionsNeedRaw(value) && !Has(c, CAP_NET_RAW) ? -Errno.EINVAL : 0;   // IP_OPTIONS: CIPSO/SEC/unknown
                    case 64: case 65: case 96: case 97: case 128: case 129:                   // ipt/arpt/ebt SET_REPLACE, ADD_COUNTERS
                        return admin ? -Errno.ENOPROTOOPT : -Errno.EPERM;
                    case >= 200 and <= 212 when s.Type == SocketFile.SOCK_RAW && s.Protocol == IPPROTO_IGMP:   // MRT_*
                        return name != 200 && !s.MulticastRouter && !admin ? -Errno.EACCES : 0;
                    default: return 0;
                }
            case SOL_IPV6 when s.Family == AF_INET6:
                switch (name)
                {
                    case 75: return IntValue(value) != 0 && !rawOrAdmin ? -Errno.EPERM : 0;   // IPV6_TRANSPARENT
                    case 34: case 35: return admin ? 0 : -Errno.EPERM;                         // IPV6_IPSEC_POLICY, IPV6_XFRM_POLICY
                    case 54: case 55: case 59: return Has(c, CAP_NET_RAW) ? 0 : -Errno.EPERM; // IPV6_HOPOPTS, RTHDRDSTOPTS, DSTOPTS
                    case 6: return CheckControl(c, AF_INET6, value.ToArray(), pktOptions: true);   // IPV6_2292PKTOPTIONS
                    case 64: case 65: return admin ? -Errno.ENOPROTOOPT : -Errno.EPERM;        // ip6t SET_REPLACE, ADD_COUNTERS
                    case >= 200 and <= 212 when s.Type == SocketFile.SOCK_RAW && s.Protocol == IPPROTO_ICMPV6:   // MRT6_*
                        return name != 200 && !s.MulticastRouter && !admin ? -Errno.EACCES : 0;
                    default: return 0;
                }
            case SOL_TCP when s.Type == SocketFile.SOCK_STREAM && s.Family is AF_INET or AF_INET6:
                switch (name)
                {
                    case 19: return admin ? 0 : -Errno.EPERM;   // TCP_REPAIR
                    case 13:                                    // TCP_CONGESTION: no module loading, only allowed ones
                        {
                            if (admin) return 0;
                            string algorithm = CString(value);
                            if (!NetSysctls.AvailableCongestionControl.Contains(algorithm)) return -Errno.ENOENT;
                            return NetSysctls.AllowedCongestionControl.Contains(algorithm) ? 0 : -Errno.EPERM;
                        }
                    case 31:                                    // TCP_ULP: the host would load "tcp-ulp-NAME" with the Sentry's capability
                        return admin || NetSysctls.AvailableUlp.Contains(CString(value)) ? 0 : -Errno.ENOENT;
                    default: return 0;
                }
            case SOL_NETLINK when s.Family == AF_NETLINK:
                {
                    int v = IntValue(value);
                    switch (name)
                    {
                        case 1: return NetlinkGroupNeedsAdmin(v) && !admin ? -Errno.EPERM : 0;          // NETLINK_ADD_MEMBERSHIP
                        case 8: return v != 0 && !Has(c, CAP_NET_BROADCAST) ? -Errno.EPERM : 0;          // NETLINK_LISTEN_ALL_NSID
                        default: return 0;
                    }
                }
            default:
                return 0;
        }
    }

    /// <summary>rtnetlink_bind: the multicast-routing report groups (RTNLGRP_IPV4_MROUTE_R = 30, RTNLGRP_IPV6_MROUTE_R = 31).</summary>
    public static bool NetlinkGroupNeedsAdmin(int group) => group is 30 or 31;

    /// <summary>A netlink bind's nl_groups bit mask (bit g-1 is group g).</summary>
    public static bool NetlinkGroupMaskNeedsAdmin(uint mask) => (mask & (1u << 29 | 1u << 30)) != 0;

    /// <summary>An int option as ip(7) reads it: an int when 4 bytes or more were given, else one byte.</summary>
    private static int IntValue(ReadOnlySpan<byte> value)
        => value.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(value) : value.Length >= 1 ? value[0] : 0;

    private static string CString(ReadOnlySpan<byte> value)
    {
        int end = value.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end >= 0 ? value[..end] : value);
    }

    /// <summary>
    /// ip_options_compile: only END, NOOP, LSRR, SSRR, RR, TIMESTAMP and ROUTER ALERT are open to
    /// everyone; any other option (CIPSO, SEC, SID, unknown) needs CAP_NET_RAW (EINVAL without it).
    /// </summary>
    private static bool IpOptionsNeedRaw(ReadOnlySpan<byte> o)
    {
        for (int i = 0; i < o.Length;)
        {
            byte type = o[i];
            if (type == 0) return false;        // IPOPT_END
            if (type == 1) { i++; continue; }   // IPOPT_NOOP
            if (type is not (131 or 137 or 7 or 68 or 148)) return true;
            if (i + 1 >= o.Length || o[i + 1] < 2) return false;   // malformed: the host's EINVAL
            i += o[i + 1];
        }
        return false;
    }

    /// <summary>
    /// The control messages of a sendmsg(2) on a host socket (and IPV6_2292PKTOPTIONS' value):
    /// 0 or the errno Linux gives a task without the capability one of them needs.
    /// </summary>
    public static int CheckControl(Credentials c, int family, byte[] control, bool pktOptions = false)
    {
        for (int off = 0; off + 16 <= control.Length;)
        {
            long len = BinaryPrimitives.ReadInt64LittleEndian(control.AsSpan(off));
            int level = BinaryPrimitives.ReadInt32LittleEndian(control.AsSpan(off + 8));
            int type = BinaryPrimitives.ReadInt32LittleEndian(control.AsSpan(off + 12));
            if (len < 16 || len > control.Length - off) return 0;   // malformed: the host's EINVAL
            var data = control.AsSpan(off + 16, (int)len - 16);
            if (level == SOL_SOCKET && !pktOptions)
            {
                int v = data.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(data) : 0;
                bool rawOrAdmin = Has(c, CAP_NET_RAW) || Has(c, CAP_NET_ADMIN);
                if (type == 36 && data.Length == 4 && !rawOrAdmin) return -Errno.EPERM;                       // SO_MARK
                if (type == 12 && data.Length == 4 && (v < 0 || v > 6) && !rawOrAdmin) return -Errno.EPERM;   // SO_PRIORITY
            }
            else if (level == SOL_IP && family == AF_INET && type == 7 && IpOptionsNeedRaw(data) && !Has(c, CAP_NET_RAW))
                return -Errno.EINVAL;                                                                          // IP_RETOPTS
            else if (level == SOL_IPV6 && family == AF_INET6 && type is 54 or 55 or 59 or 3 or 4 && !Has(c, CAP_NET_RAW))
                return -Errno.EPERM;   // IPV6_HOPOPTS, RTHDRDSTOPTS, DSTOPTS, 2292HOPOPTS, 2292DSTOPTS
            off += (int)((len + 7) & ~7L);
        }
        return 0;
    }

    /// <summary>
    /// scm_check_creds for an SCM_CREDENTIALS message on a netlink socket: the pid must be the
    /// caller's (or CAP_SYS_ADMIN), the uid one of its uids (or CAP_SETUID), the gid one of its
    /// gids (or CAP_SETGID); EPERM otherwise. Without this the host would accept any credentials
    /// on the strength of the Sentry's own capabilities.
    /// </summary>
    public static int CheckCredentials(Credentials c, int tgid, byte[] control)
    {
        for (int off = 0; off + 16 <= control.Length;)
        {
            long len = BinaryPrimitives.ReadInt64LittleEndian(control.AsSpan(off));
            int level = BinaryPrimitives.ReadInt32LittleEndian(control.AsSpan(off + 8));
            int type = BinaryPrimitives.ReadInt32LittleEndian(control.AsSpan(off + 12));
            if (len < 16 || len > control.Length - off) return 0;
            if (level == SOL_SOCKET && type == 2 && len >= 28)
            {
                int pid = BinaryPrimitives.ReadInt32LittleEndian(control.AsSpan(off + 16));
                uint uid = BinaryPrimitives.ReadUInt32LittleEndian(control.AsSpan(off + 20));
                uint gid = BinaryPrimitives.ReadUInt32LittleEndian(control.AsSpan(off + 24));
                bool pidOk = pid == tgid || Has(c, CAP_SYS_ADMIN);
                bool uidOk = uid == c.Uid || uid == c.Euid || uid == c.Suid || Has(c, CAP_SETUID);
                bool gidOk = gid == c.Gid || gid == c.Egid || gid == c.Sgid || Has(c, CAP_SETGID);
                if (!(pidOk && uidOk && gidOk)) return -Errno.EPERM;
            }
            off += (int)((len + 7) & ~7L);
        }
        return 0;
    }
}
