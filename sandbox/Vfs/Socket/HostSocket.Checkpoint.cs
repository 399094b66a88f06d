using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.StateFile.Checkpoint;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// Checkpoint and restore of a host socket. The host's connection state cannot move to a new
/// network namespace, so (issue 11) a listening socket is made again, bound and listening; a
/// bound or connected datagram socket is made again, bound and connected; a connected stream
/// socket comes back *reset*: the Sentry answers for it as Linux answers after a peer's RST
/// (first read/write/SO_ERROR: ECONNRESET; then reads 0, writes EPIPE; poll IN|OUT|HUP|RDHUP,
/// with ERR while the error is pending), over a new unconnected socket that keeps its options.
/// </summary>
internal sealed partial class HostSocket
{
    private const int IPPROTO_TCP = 6, TCP_INFO = 11, TCP_LISTEN = 10, TCP_CLOSE = 7;
    private const int MaxOptions = 64;

    /// <summary>listen(2)'s backlog (the host cannot tell it back).</summary>
    private int _backlog = -1;
    /// <summary>A connection that was reset by a restore: <see cref="_reset"/> answers for it.</summary>
    private bool _reset, _resetPending;
    private byte[] _resetLocal = Array.Empty<byte>();

    /// <summary>
    /// The int options saved and restored, by (level, name): those a program sets on inet
    /// sockets without privileges. A restored option must be one of these.
    /// </summary>
    private static readonly (int Level, int Name, int Family, int Type)[] SavedOptions =
    [
        (1, 2, 0, 0),  /* SO_REUSEADDR */ (1, 6, 0, 0),  /* SO_BROADCAST */ (1, 7, 0, 0),  /* SO_SNDBUF */
        (1, 8, 0, 0),  /* SO_RCVBUF */    (1, 9, 0, 0),  /* SO_KEEPALIVE */ (1, 10, 0, 0), /* SO_OOBINLINE */
        (1, 15, 0, 0), /* SO_REUSEPORT */ (1, 18, 0, 0), /* SO_RCVLOWAT */  (1, 29, 0, 0), /* SO_TIMESTAMP */
        (1, 35, 0, 0), /* SO_TIMESTAMPNS */ (1, 40, 0, 0), /* SO_RXQ_OVFL */
        (6, 1, 0, SOCK_STREAM), /* TCP_NODELAY */ (6, 3, 0, SOCK_STREAM), /* TCP_CORK */
        (6, 4, 0, SOCK_STREAM), /* TCP_KEEPIDLE */ (6, 5, 0, SOCK_STREAM), /* TCP_KEEPINTVL */
        (6, 6, 0, SOCK_STREAM), /* TCP_KEEPCNT */ (6, 9, 0, SOCK_STREAM), /* TCP_DEFER_ACCEPT */
        (6, 18, 0, SOCK_STREAM), /* TCP_USER_TIMEOUT */
        (0, 1, 2, 0), /* IP_TOS */ (0, 2, 2, 0), /* IP_TTL */ (0, 8, 2, 0), /* IP_PKTINFO */
        (0, 10, 2, 0), /* IP_MTU_DISCOVER */ (0, 11, 2, 0), /* IP_RECVERR */ (0, 12, 2, 0), /* IP_RECVTTL */
        (0, 13, 2, 0), /* IP_RECVTOS */ (0, 15, 2, 0), /* IP_FREEBIND */ (0, 33, 2, NotStream), /* IP_MULTICAST_TTL */
        (0, 34, 2, NotStream), /* IP_MULTICAST_LOOP */
        (41, 16, 10, 0), /* IPV6_UNICAST_HOPS */ (41, 18, 10, NotStream), /* IPV6_MULTICAST_HOPS */
        (41, 19, 10, NotStream), /* IPV6_MULTICAST_LOOP */ (41, 23, 10, 0), /* IPV6_MTU_DISCOVER */
        (41, 25, 10, 0), /* IPV6_RECVERR */ (41, 26, 10, 0), /* IPV6_V6ONLY */ (41, 49, 10, 0), /* IPV6_RECVPKTINFO */
        (41, 66, 10, 0), /* IPV6_RECVTCLASS */ (41, 67, 10, 0), /* IPV6_TCLASS */
    ];

    /// <summary>
    /// Multicast options are refused on stream sockets (EINVAL), yet an accepted TCP socket reads
    /// back the TTL its SYN came with as IP_MULTICAST_TTL: not saved for them.
    /// </summary>
    private const int NotStream = -1;

    private static bool OptionAllowed(int family, int type, int level, int name) =>
        family != SocketPrivileges.AF_NETLINK && SavedOptions.Any(o => o.Level == level && o.Name == name
            && (o.Family == 0 || o.Family == family) && (o.Type == 0 || o.Type == type || (o.Type == NotStream && type != SOCK_STREAM)));

    /// <summary>Why this socket cannot be saved (null: it can), for the checkpoint's refusal.</summary>
    public unsafe string? CheckpointRefusal()
    {
        if (_fd < 0) return "a closed host socket";
        if (Opener == null) return "a host socket the sandbox was given (--preserve-fds)";
        if (_family is not (SocketPrivileges.AF_INET or SocketPrivileges.AF_INET6 or SocketPrivileges.AF_NETLINK))
            return $"a host socket of family {_family}";
        if (_family != SocketPrivileges.AF_NETLINK && _type is not (SOCK_STREAM or SOCK_DGRAM or SOCK_RAW))
            return $"a host socket of type {_type}";
        if (_type == SOCK_STREAM && _protocol is not (0 or IPPROTO_TCP)) return $"a stream socket of protocol {_protocol}";
        if (MulticastRouter) return "a multicast router socket";
        int len = 0;
        // getsockopt(SO_ATTACH_FILTER) with no room gives the filter's length: a program cannot be read back.
        if (HostSockets.getsockopt(_fd, 1, 26, null, &len) == 0 && len > 0) return "a host socket with a BPF filter attached";
        if (_family == SocketPrivileges.AF_NETLINK)
        {
            int queued = 0;
            if (HasNetlinkReplies || (HostFiles.ioctl(_fd, 0x541B /* FIONREAD */, &queued) == 0 && queued > 0))
                return "a netlink socket with replies not yet read";
            if (GetPeerName(out var peer) == 0 && peer.Length >= 12 && (BitConverter.ToUInt32(peer, 4) != 0 || BitConverter.ToUInt32(peer, 8) != 0))
                return "a connected netlink socket";
        }
        return null;
    }

    /// <summary>The socket's record: state, addresses, backlog and options that differ from a new socket's.</summary>
    public unsafe HostSocketImage SaveCheckpoint()
    {
        var image = new HostSocketImage { Family = _family, Type = _type, Protocol = _protocol };
        GetSockName(out var local);
        bool bound = _family == SocketPrivileges.AF_NETLINK
            ? local.Length >= 12 && (BitConverter.ToUInt32(local, 4) != 0 || BitConverter.ToUInt32(local, 8) != 0)
            : local.Length >= 4 && (local[2] | local[3]) != 0;
        if (_reset)
        {
            image.State = HostSocketState.Reset;
            image.ResetPending = _resetPending;
            image.Local = _resetLocal;
        }
        else if (_type == SOCK_STREAM)
        {
            byte* info = stackalloc byte[256];
            int len = 256;
            int state = HostSockets.getsockopt(_fd, IPPROTO_TCP, TCP_INFO, info, &len) == 0 && len > 0 ? info[0] : TCP_CLOSE;
            // Any state of a connection (being set up, established, closing) comes back reset.
            image.State = state == TCP_LISTEN ? HostSocketState.Listening : state == TCP_CLOSE ? (bound ? HostSocketState.Bound : HostSocketState.Unbound) : HostSocketState.Reset;
            image.ResetPending = image.State == HostSocketState.Reset;
            if (bound) image.Local = local;
            if (image.State == HostSocketState.Listening) image.Backlog = Math.Clamp(_backlog, 0, 65535);
        }
        else
        {
            bool connected = _family != SocketPrivileges.AF_NETLINK && GetPeerName(out var peer) == 0 && peer.Length > 0;
            image.State = connected ? HostSocketState.Connected : bound ? HostSocketState.Bound : HostSocketState.Unbound;
            if (connected)
            {
                GetPeerName(out var p);
                image.Peer = p;
            }
            if (bound) image.Local = local;
        }
        if (_family != SocketPrivileges.AF_NETLINK) SaveOptions(image);
        return image;
    }

    /// <summary>The allowed options whose value differs from a new socket's of the same kind.</summary>
    private unsafe void SaveOptions(HostSocketImage image)
    {
        int fresh = HostSockets.socket(_family, _type | 0x80000 /* SOCK_CLOEXEC */, _protocol);
        try
        {
            foreach (var (level, name, family, type) in SavedOptions)
            {
                if (!OptionAllowed(_family, _type, level, name)) continue;
                int v = 0, d = 0, len = sizeof(int), dlen = sizeof(int);
                if (HostSockets.getsockopt(_fd, level, name, (byte*)&v, &len) != 0 || len != sizeof(int)) continue;
                if (fresh >= 0 && HostSockets.getsockopt(fresh, level, name, (byte*)&d, &dlen) == 0 && d == v) continue;
                // The kernel reports twice the buffer size it was given (socket(7)).
                if (level == 1 && name is 7 or 8) v /= 2;
                // Only what a new socket takes back (restore sets each on one).
                if (fresh >= 0 && HostSockets.setsockopt(fresh, level, name, (byte*)&v, sizeof(int)) != 0) continue;
                image.Options.Add(new SocketOptionImage { Level = level, Name = name, Value = BitConverter.GetBytes(v) });
            }
        }
        finally
        {
            if (fresh >= 0) FileDescriptor.Close(fresh);
        }
    }

    /// <summary>
    /// A socket made again from <paramref name="image"/> (hostile input: every field is checked)
    /// for <paramref name="task"/>, with its privileges, as socket/setsockopt/bind/listen/connect
    /// would; 0 or an error naming what failed.
    /// </summary>
    public static string? Restore(Task task, HostSocketImage image, int status, out HostSocket? socket)
    {
        socket = null;
        int family = image.Family, type = image.Type;
        if (family is not (SocketPrivileges.AF_INET or SocketPrivileges.AF_INET6 or SocketPrivileges.AF_NETLINK)) return $"has family {family}, which is not a host socket family";
        if (family == SocketPrivileges.AF_NETLINK ? type is not (SOCK_DGRAM or SOCK_RAW) || image.Protocol != 0 : type is not (SOCK_STREAM or SOCK_DGRAM or SOCK_RAW))
            return $"has type {type} protocol {image.Protocol}, which socket(2) does not make";
        if (image.Protocol is < 0 or > 255 || (type == SOCK_STREAM && image.Protocol is not (0 or IPPROTO_TCP))) return $"has protocol {image.Protocol}";
        int state = image.State;
        bool stateOk = state switch
        {
            HostSocketState.Unbound => image.Local.Length == 0 && image.Peer.Length == 0,
            HostSocketState.Bound => image.Peer.Length == 0,
            HostSocketState.Listening => type == SOCK_STREAM && image.Peer.Length == 0 && image.Backlog is >= 0 and <= 65535,
            HostSocketState.Reset => type == SOCK_STREAM && image.Peer.Length == 0,
            HostSocketState.Connected => type != SOCK_STREAM && family != SocketPrivileges.AF_NETLINK,
            _ => false,
        };
        if (!stateOk) return $"has state {state}, which does not fit a socket of type {type} with its addresses";
        if (state is HostSocketState.Bound or HostSocketState.Listening or HostSocketState.Connected && !AddressFits(family, image.Local))
            return "has a malformed bound address";
        if (state == HostSocketState.Reset && image.Local.Length > 0 && !AddressFits(family, image.Local)) return "has a malformed bound address";
        if (state == HostSocketState.Connected && !AddressFits(family, image.Peer)) return "has a malformed peer address";
        if (image.Options.Count > MaxOptions) return "has too many socket options";
        var seen = new HashSet<(int, int)>();
        foreach (var o in image.Options)
            if (!OptionAllowed(family, type, o.Level, o.Name) || !seen.Add((o.Level, o.Name)) || o.Value.Length != sizeof(int) || BitConverter.ToInt32(o.Value) < -1)
                return $"has socket option {o.Level}/{o.Name}, which is not restored (not an allowed option, given twice, or a bad value)";
        int err = Create(task.Credentials, family, type, image.Protocol, status & ~OpenFlags.O_ACCMODE, out var s);
        if (err != 0) return $"cannot be made again: socket: errno {-err}";
        try
        {
            foreach (var o in image.Options)
            {
                err = s!.SetOption(task, o.Level, o.Name, (byte[])o.Value.Clone());
                if (err != 0) return $"cannot have socket option {o.Level}/{o.Name} = {BitConverter.ToInt32(o.Value)} again: errno {-err}";
            }
            if (state == HostSocketState.Reset)
            {
                s!._reset = true;
                s._resetPending = image.ResetPending;
                s._resetLocal = image.Local;
            }
            else if (state != HostSocketState.Unbound)
            {
                byte[] local = (byte[])image.Local.Clone();
                // A netlink port id is the kernel's to give: bound again to the same groups.
                if (family == SocketPrivileges.AF_NETLINK) local.AsSpan(4, 4).Clear();
                err = s!.Bind(task, local);
                if (err != 0) return $"cannot be bound to {AddressText(image.Local)} again: errno {-err}";
                if (state == HostSocketState.Listening && (err = s.Listen(task, image.Backlog)) != 0) return $"cannot listen again: errno {-err}";
                if (state == HostSocketState.Connected && (err = s.Connect(task, image.Peer)) != 0)
                    return $"cannot be connected to {AddressText(image.Peer)} again: errno {-err}";
            }
            socket = s;
            s = null;
            return null;
        }
        finally
        {
            s?.DecRef();
        }
    }

    /// <summary>A sockaddr of <paramref name="family"/>, of its exact size.</summary>
    private static bool AddressFits(int family, byte[] a) =>
        a.Length == family switch { SocketPrivileges.AF_INET => 16, SocketPrivileges.AF_INET6 => 28, _ => 12 }
        && BitConverter.ToUInt16(a, 0) == family;

    /// <summary>"127.0.0.1:8000", "[::1]:8000", "netlink".</summary>
    private static string AddressText(byte[] a)
    {
        if (a.Length < 4) return "?";
        int port = a[2] << 8 | a[3];
        int family = BitConverter.ToUInt16(a, 0);
        if (family == SocketPrivileges.AF_INET && a.Length >= 8) return $"{a[4]}.{a[5]}.{a[6]}.{a[7]}:{port}";
        if (family == SocketPrivileges.AF_INET6 && a.Length >= 24) return $"[{new System.Net.IPAddress(a.AsSpan(8, 16))}]:{port}";
        return "netlink";
    }

    // --- A connection reset by the restore, answered as Linux answers after a peer's RST. ---

    /// <summary>The pending ECONNRESET once (sk_err is reported and cleared by the first call that looks), else 0.</summary>
    private int TakeResetError()
    {
        if (!_resetPending) return 0;
        _resetPending = false;
        return -Errno.ECONNRESET;
    }

    private long ResetReceive()
    {
        int e = TakeResetError();
        return e != 0 ? e : 0;   // then EOF: the receive side is shut down
    }

    private long ResetSend(Task task, int flags)
    {
        int e = TakeResetError();
        if (e != 0) return e;
        if ((flags & MSG_NOSIGNAL) == 0) BrokenPipe(task);
        return -Errno.EPIPE;
    }

    private short ResetReadiness(short mask)
    {
        int ready = PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLRDHUP | PollEvents.POLLHUP | PollEvents.POLLOUT | PollEvents.POLLWRNORM;
        if (_resetPending) ready |= PollEvents.POLLERR;
        return (short)(ready & (mask | PollEvents.POLLERR | PollEvents.POLLHUP));
    }
}
