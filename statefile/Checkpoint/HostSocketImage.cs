using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>What a host (inet, inet6, netlink) socket was at checkpoint time.</summary>
public static class HostSocketState
{
    /// <summary>Neither bound nor connected: re-created.</summary>
    public const int Unbound = 0;
    /// <summary>Bound, not connected: re-created and bound to <see cref="HostSocketImage.Local"/>.</summary>
    public const int Bound = 1;
    /// <summary>A listening socket: re-created, bound and listening with its backlog (pending connections are lost).</summary>
    public const int Listening = 2;
    /// <summary>A connected stream socket: comes back reset (ECONNRESET, then EOF/EPIPE), as after a peer's RST.</summary>
    public const int Reset = 3;
    /// <summary>A connected datagram/raw socket: re-created, bound and connected again.</summary>
    public const int Connected = 4;
}

/// <summary>
/// A host socket: family, type, protocol, state, the addresses, the listen backlog, the socket
/// options that differ from a new socket's, and (reset sockets) whether ECONNRESET is still to
/// be reported.
/// </summary>
[ProtoContract]
public sealed class HostSocketImage
{
    [ProtoMember(1)] public int Family { get; set; }
    [ProtoMember(2)] public int Type { get; set; }
    [ProtoMember(3)] public int Protocol { get; set; }
    /// <summary>A <see cref="HostSocketState"/> value.</summary>
    [ProtoMember(4)] public int State { get; set; }
    /// <summary>The bound address (raw sockaddr), empty when unbound.</summary>
    [ProtoMember(5)] public byte[] Local { get; set; } = Array.Empty<byte>();
    /// <summary>The peer's address (raw sockaddr), empty when not connected.</summary>
    [ProtoMember(6)] public byte[] Peer { get; set; } = Array.Empty<byte>();
    /// <summary>listen(2)'s backlog (Listening).</summary>
    [ProtoMember(7)] public int Backlog { get; set; }
    /// <summary>Int options (4-byte values) that differ from a new socket's.</summary>
    [ProtoMember(8)] public List<SocketOptionImage> Options { get; set; } = new();
    /// <summary>A reset socket has not reported ECONNRESET yet.</summary>
    [ProtoMember(9)] public bool ResetPending { get; set; }
}
