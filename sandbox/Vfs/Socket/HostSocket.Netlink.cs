using System.Buffers.Binary;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// The NETLINK_ROUTE side of a host socket (rtnetlink(7), netlink(7)): rtnetlink_rcv_msg refuses
/// every request that is not a GET (RTM_NEW*, RTM_DEL*, RTM_SET*: (type - RTM_BASE) &amp; 3 != 2)
/// with EPERM unless both the caller and the socket's opener hold CAP_NET_ADMIN over the
/// namespace, and answers with an NLMSG_ERROR acknowledgement, not a failed sendmsg. The host
/// would check the Sentry instead, so for a task without the capability the Sentry takes such
/// requests out of the datagram, sends the rest, and queues Linux's acknowledgement itself
/// (error -EPERM, the request echoed whole, or only its header with NETLINK_CAP_ACK and
/// NLM_F_CAPPED). Those answers are read before anything the host has queued.
/// Sending to a multicast group or to another socket (sendto or connect with nl_pid/nl_groups)
/// needs CAP_NET_ADMIN too (NL_CFG_F_NONROOT_SEND is not set for rtnetlink): EPERM.
/// Not exact: a message type between the kernel's RTM_MAX and 255 gets EPERM where Linux says
/// EOPNOTSUPP; in a batch that mixes refused and accepted requests, the refusals come first.
/// </summary>
internal sealed partial class HostSocket
{
    private const int NLMSG_HDRLEN = 16, NLM_F_REQUEST = 1, NLM_F_CAPPED = 0x100, NLMSG_ERROR = 2, RTM_BASE = 16;
    private const int SOL_NETLINK = 270, NETLINK_CAP_ACK = 10;
    private readonly Queue<byte[]> _netlinkReplies = new();
    private volatile int _netlinkReplyCount;
    // Where a send without an address goes: the kernel, unless connect named a group or a socket.
    private bool _netlinkPeerIsKernel = true;

    private bool HasNetlinkReplies => _netlinkReplyCount > 0;

    private static bool NetAdmin(Credentials c) => c.HasCapability(SocketPrivileges.CAP_NET_ADMIN);

    private int NetlinkConnectCheck(Task task, byte[] address)
    {
        if (address.Length < 2) return 0;
        if (BitConverter.ToUInt16(address, 0) == 0) { _netlinkPeerIsKernel = true; return 0; }   // AF_UNSPEC: disconnect
        if (address.Length < 12 || BitConverter.ToUInt16(address, 0) != SocketPrivileges.AF_NETLINK) return 0;
        bool toKernel = BitConverter.ToUInt32(address, 4) == 0 && BitConverter.ToUInt32(address, 8) == 0;
        if (!toKernel && !NetAdmin(task.Credentials)) return -Errno.EPERM;
        _netlinkPeerIsKernel = toKernel;
        return 0;
    }

    /// <summary>
    /// Takes the requests the task may not make out of <paramref name="datagram"/> and queues
    /// their EPERM acknowledgements. 0: send <paramref name="datagram"/> (what is left of it);
    /// negative: fail the send with that errno; positive: nothing is left to send, the whole
    /// datagram (that many bytes) counts as sent.
    /// </summary>
    private long FilterNetlinkSend(Task task, ref byte[] datagram, byte[]? address)
    {
        if (_protocol != 0) return 0;   // NETLINK_ROUTE only (the only protocol the Sentry opens)
        if (address is { Length: > 0 })
        {
            if (address.Length < 12 || BitConverter.ToUInt16(address, 0) != SocketPrivileges.AF_NETLINK) return 0;   // the host's EINVAL
            bool toKernel = BitConverter.ToUInt32(address, 4) == 0 && BitConverter.ToUInt32(address, 8) == 0;
            if (!toKernel) return NetAdmin(task.Credentials) ? 0 : -Errno.EPERM;
        }
        else if (!_netlinkPeerIsKernel) return 0;
        if (NetAdmin(task.Credentials) && (Opener == null || NetAdmin(Opener))) return 0;

        var kept = new List<byte>(datagram.Length);
        List<byte[]>? refused = null;
        int off = 0;
        while (datagram.Length - off >= NLMSG_HDRLEN)
        {
            var m = datagram.AsSpan(off);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(m);
            if (len < NLMSG_HDRLEN || len > m.Length) break;   // the kernel stops here: the rest goes as it is
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(m[4..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(m[6..]);
            int step = (int)Math.Min((len + 3) & ~3u, (uint)m.Length);
            bool changes = (flags & NLM_F_REQUEST) != 0 && type >= RTM_BASE && type <= 255 && len > NLMSG_HDRLEN
                && ((type - RTM_BASE) & 3) != 2;
            if (changes) (refused ??= new()).Add(Acknowledgement(m[..(int)len]));
            else kept.AddRange(m[..step].ToArray());
            off += step;
        }
        if (refused == null) return 0;
        kept.AddRange(datagram.AsSpan(off).ToArray());
        lock (_netlinkReplies)
        {
            foreach (var r in refused) _netlinkReplies.Enqueue(r);
            _netlinkReplyCount = _netlinkReplies.Count;
        }
        _queue?.Notify();
        int whole = datagram.Length;
        datagram = kept.ToArray();
        return datagram.Length == 0 ? whole : 0;
    }

    /// <summary>netlink_ack for <paramref name="request"/> with error EPERM.</summary>
    private unsafe byte[] Acknowledgement(ReadOnlySpan<byte> request)
    {
        int capAck = 0, len = sizeof(int);
        bool capped = HostSockets.getsockopt(_fd, SOL_NETLINK, NETLINK_CAP_ACK, (byte*)&capAck, &len) == 0 && capAck != 0;
        int echoed = capped ? NLMSG_HDRLEN : request.Length;
        var ack = new byte[NLMSG_HDRLEN + 4 + echoed];
        BinaryPrimitives.WriteUInt32LittleEndian(ack, (uint)ack.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(ack.AsSpan(4), NLMSG_ERROR);
        BinaryPrimitives.WriteUInt16LittleEndian(ack.AsSpan(6), (ushort)(capped ? NLM_F_CAPPED : 0));
        request.Slice(8, 4).CopyTo(ack.AsSpan(8));   // nlmsg_seq
        BinaryPrimitives.WriteUInt32LittleEndian(ack.AsSpan(12), PortId());
        BinaryPrimitives.WriteInt32LittleEndian(ack.AsSpan(16), -Errno.EPERM);
        request[..echoed].CopyTo(ack.AsSpan(20));
        return ack;
    }

    /// <summary>The socket's port id (nlmsg_pid of the acknowledgement), binding it first as a send would.</summary>
    private unsafe uint PortId()
    {
        byte* a = stackalloc byte[12];
        int len = 12;
        if (HostSockets.getsockname(_fd, a, &len) == 0 && *(uint*)(a + 4) != 0) return *(uint*)(a + 4);
        new Span<byte>(a, 12).Clear();
        *(ushort*)a = SocketPrivileges.AF_NETLINK;
        HostSockets.bind(_fd, a, 12);   // autobind, as netlink_sendmsg does for an unbound socket
        len = 12;
        return HostSockets.getsockname(_fd, a, &len) == 0 ? *(uint*)(a + 4) : 0;
    }

    /// <summary>Copies the next Sentry-made answer into <paramref name="buffer"/> (taken unless MSG_PEEK); false if there is none.</summary>
    private bool TakeNetlinkReply(Span<byte> buffer, int flags, out int full)
    {
        full = 0;
        if (_netlinkReplyCount == 0) return false;
        lock (_netlinkReplies)
        {
            if (!_netlinkReplies.TryPeek(out var reply)) return false;
            full = reply.Length;
            reply.AsSpan(0, Math.Min(reply.Length, buffer.Length)).CopyTo(buffer);
            if ((flags & MSG_PEEK) == 0) _netlinkReplies.Dequeue();
            _netlinkReplyCount = _netlinkReplies.Count;
            return true;
        }
    }
}
