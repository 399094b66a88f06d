using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>One message to send or the result of a receive: data, address and SCM_RIGHTS files.</summary>
internal sealed class SocketMessage
{
    /// <summary>Destination (send) or source (receive) address, raw sockaddr bytes; null for none.</summary>
    public byte[]? Address;
    /// <summary>Files passed with SCM_RIGHTS (references owned by the message).</summary>
    public List<FileDescription>? Rights;
    /// <summary>Sender credentials (SCM_CREDENTIALS): pid, uid, gid.</summary>
    public (int Pid, uint Uid, uint Gid)? Credentials;
    /// <summary>MSG_* flags of the result (MSG_TRUNC, MSG_CTRUNC...).</summary>
    public int Flags;
    /// <summary>
    /// Control messages in the application's layout, passed through as they are (host sockets:
    /// IP_PKTINFO, IPV6_HOPLIMIT, SO_TIMESTAMP... sent, or received).
    /// </summary>
    public byte[]? Control;
    /// <summary>Receive: the room the caller gave for control messages (msg_controllen).</summary>
    public int ControlCapacity;
}

/// <summary>
/// A socket (socket(7)): the operations of the socket system calls. Addresses are raw sockaddr
/// bytes in the application's layout. Blocking operations wait interruptibly and return
/// -ERESTARTSYS when a signal arrives.
/// </summary>
internal abstract class SocketFile : FileDescription
{
    /// <summary>fsync(2)/fdatasync(2): a socket has nothing to sync (EINVAL, as Linux).</summary>
    public override int Sync(Task task, bool dataOnly) => -Errno.EINVAL;

    public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5;
    public const int MSG_OOB = 1, MSG_PEEK = 2, MSG_DONTROUTE = 4, MSG_CTRUNC = 8, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40,
        MSG_EOR = 0x80, MSG_WAITALL = 0x100, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;

    /// <summary>Address family (AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10).</summary>
    public abstract int Family { get; }

    /// <summary>Socket type (SOCK_STREAM...).</summary>
    public abstract int Type { get; }

    /// <summary>Protocol number.</summary>
    public virtual int Protocol => 0;

    /// <summary>bind(2).</summary>
    public abstract int Bind(Task task, byte[] address);

    /// <summary>listen(2).</summary>
    public abstract int Listen(Task task, int backlog);

    /// <summary>accept(2): a new connected socket (one reference, owned by the caller) and the peer's address.</summary>
    public abstract int Accept(Task task, bool nonBlocking, out SocketFile? accepted, out byte[] peer);

    /// <summary>connect(2).</summary>
    public abstract int Connect(Task task, byte[] address);

    /// <summary>getsockname(2).</summary>
    public abstract int GetSockName(out byte[] address);

    /// <summary>getpeername(2): ENOTCONN when not connected.</summary>
    public abstract int GetPeerName(out byte[] address);

    /// <summary>sendmsg(2): sends <paramref name="data"/>; returns bytes sent or -errno.</summary>
    public abstract long Send(Task task, ReadOnlySpan<byte> data, SocketMessage message, int flags);

    /// <summary>recvmsg(2): receives into <paramref name="buffer"/>; returns bytes (or the datagram's full size with MSG_TRUNC).</summary>
    public abstract long Receive(Task task, Span<byte> buffer, SocketMessage result, int flags);

    /// <summary>shutdown(2): SHUT_RD (0), SHUT_WR (1), SHUT_RDWR (2).</summary>
    public abstract int Shutdown(Task task, int how);

    /// <summary>setsockopt(2).</summary>
    public abstract int SetOption(Task task, int level, int name, byte[] value);

    /// <summary>getsockopt(2): the value (the caller truncates to the user's length).</summary>
    public abstract int GetOption(Task task, int level, int name, out byte[] value);

    /// <summary>Sends SIGPIPE to a task whose send failed with EPIPE without MSG_NOSIGNAL.</summary>
    protected static void BrokenPipe(Task task) => RaiseBrokenPipe(task);

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
        => Receive(task, destination, new SocketMessage(), 0);

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => Send(task, source, new SocketMessage(), 0);

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(LinuxMode.S_IFSOCK | 0x1ff);
        return 0;
    }

    /// <inheritdoc/>
    public override string AnonymousName => $"socket:[{(uint)GetHashCode()}]";

    /// <summary>An int option value.</summary>
    protected static byte[] IntOption(int v) => BitConverter.GetBytes(v);
}
