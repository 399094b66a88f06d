using System.Text;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// An AF_UNIX socket served entirely by the Sentry (unix(7)): SOCK_STREAM, SOCK_SEQPACKET and
/// SOCK_DGRAM; socketpair; bind to a path in the VFS (a socket inode), to an abstract name, or
/// autobind; listen/accept/connect; SCM_RIGHTS file passing; SO_PEERCRED; shutdown; EOF when the
/// peer closes and EPIPE when writing to a closed peer. One lock serialises all unix-socket state.
/// </summary>
internal sealed partial class UnixSocket : SocketFile
{
    private const int DefaultBuffer = 212992;
    private static readonly object s_lock = new();
    private static int s_autobind;

    private sealed class Item
    {
        public required byte[] Data;
        public int Offset;
        public List<FileDescription>? Rights;
        public byte[]? From;
        public (int, uint, uint) Creds;
    }

    private readonly int _type;
    private readonly VirtualFileSystem _vfs;
    private readonly LinkedList<Item> _recv = new();
    private int _recvBytes;
    private UnixSocket? _peer;
    private bool _connected;
    private bool _listening;
    private Queue<UnixSocket>? _backlog;
    private int _backlogMax;
    private bool _peerClosed;
    private bool _shutRead, _shutWrite;
    private bool _closed;
    private byte[]? _address;
    private string? _abstractName;
    private Inode? _boundInode;
    private VfsPath? _boundAt;
    private (int Pid, uint Uid, uint Gid) _creds;
    private (int Pid, uint Uid, uint Gid)? _peerCreds;
    private readonly Dictionary<(int, int), byte[]> _options = new();

    /// <summary>Creates an unbound socket of <paramref name="type"/> for <paramref name="task"/>.</summary>
    public UnixSocket(Task task, int type, int flags)
    {
        _type = type;
        _vfs = task.Kernel.Vfs;
        StatusFlags = OpenFlags.O_RDWR | flags;
        _creds = CredsOf(task);
    }

    /// <summary>Notified on every change of this socket's state (data, space, connections, close).</summary>
    public WaitQueue Queue { get; } = new();

    /// <inheritdoc/>
    public override int Family => 1;

    /// <inheritdoc/>
    public override int Type => _type;

    private bool IsStream => _type == SOCK_STREAM;
    private bool IsDgram => _type == SOCK_DGRAM;

    private static (int, uint, uint) CredsOf(Task t) => (Proc.ProcFileSystem.Describe(t).Pid, t.Credentials.Euid, t.Credentials.Egid);

    /// <summary>socketpair(2): two connected sockets (each one reference, owned by the caller).</summary>
    public static void Pair(Task task, int type, int flags, out UnixSocket a, out UnixSocket b)
    {
        a = new UnixSocket(task, type, flags);
        b = new UnixSocket(task, type, flags);
        lock (s_lock)
        {
            a._peer = b; b._peer = a;
            a._connected = b._connected = true;
            a._peerCreds = b._creds;
            b._peerCreds = a._creds;
        }
    }

    // ---- addresses ----------------------------------------------------------------------------

    /// <summary>Parses a sockaddr_un: path (kind 1), abstract name (kind 2), or autobind (kind 0); -EINVAL for a bad one.</summary>
    private static int ParseAddress(byte[] addr, out int kind, out string name)
    {
        kind = 0;
        name = "";
        if (addr.Length < 2 || BitConverter.ToUInt16(addr, 0) != 1) return -Errno.EINVAL;
        if (addr.Length == 2) return 0;
        if (addr[2] == 0)
        {
            kind = 2;
            name = Convert.ToHexString(addr, 3, addr.Length - 3);
            return 0;
        }
        int end = Array.IndexOf(addr, (byte)0, 2);
        if (end < 0) end = addr.Length;
        kind = 1;
        name = Memory.LinuxText.Decode(addr.AsSpan(2, end - 2));
        return 0;
    }

    private static byte[] PathAddress(string path)
    {
        var pathBytes = Memory.LinuxText.Encode(path);
        var b = new byte[2 + pathBytes.Length + 1];
        b[0] = 1;
        pathBytes.CopyTo(b, 2);
        return b;
    }

    private static byte[] Unnamed => new byte[] { 1, 0 };

    /// <inheritdoc/>
    public override int Bind(Task task, byte[] address)
    {
        if (_host != null) return -Errno.EINVAL;
        int err = ParseAddress(address, out int kind, out string name);
        if (err != 0) return err;
        lock (s_lock)
        {
            if (_address != null) return -Errno.EINVAL;
        }
        if (kind == 1)
        {
            err = _vfs.BindSocketPath(task, PathConsts.AT_FDCWD, name, 0x1ff, this, out var loc);
            if (err != 0) return err;
            lock (s_lock)
            {
                _boundInode = loc.Inode;
                _boundAt = loc;
                _address = PathAddress(name);
            }
            return 0;
        }
        lock (s_lock)
        {
            if (kind == 0)
            {
                do { name = Convert.ToHexString(Encoding.ASCII.GetBytes((Interlocked.Increment(ref s_autobind) & 0xfffff).ToString("x5"))); }
                while (_vfs.AbstractSockets.ContainsKey(name));
                address = new byte[] { 1, 0, 0 }.Concat(Convert.FromHexString(name)).ToArray();
            }
            if (_vfs.AbstractSockets.TryGetValue(name, out var existing) && existing is UnixSocket { _closed: false }) return -Errno.EADDRINUSE;
            _vfs.AbstractSockets[name] = this;
            _abstractName = name;
            _address = address;
        }
        return 0;
    }

    /// <summary>
    /// Finds the socket bound at <paramref name="address"/>; ECONNREFUSED if none, EACCES without
    /// write permission. <paramref name="unbound"/>: the socket file no sandbox socket is bound to
    /// (a host socket, perhaps), with the ECONNREFUSED.
    /// </summary>
    private int Lookup(Task task, byte[] address, out UnixSocket? target) => Lookup(task, address, out target, out _);

    private int Lookup(Task task, byte[] address, out UnixSocket? target, out Inode? unbound)
    {
        target = null;
        unbound = null;
        int err = ParseAddress(address, out int kind, out string name);
        if (err != 0) return err;
        if (kind == 0) return -Errno.EINVAL;
        if (kind == 2)
        {
            lock (s_lock)
            {
                if (_vfs.AbstractSockets.TryGetValue(name, out var o) && o is UnixSocket { _closed: false } s) target = s;
            }
            return target != null ? 0 : -Errno.ECONNREFUSED;
        }
        err = _vfs.Resolve(task, task.Fs.Cwd, name, true, out var loc);
        if (err != 0) return err;
        if ((loc.Inode.Mode & LinuxMode.S_IFMT) != LinuxMode.S_IFSOCK) return -Errno.ECONNREFUSED;
        err = Permissions.Check(task.Credentials, loc.Inode.Attr, Permissions.MayWrite);
        if (err != 0) return err;
        if (loc.Inode.BoundSocket is UnixSocket { _closed: false } u) { target = u; return 0; }
        unbound = loc.Inode;
        return -Errno.ECONNREFUSED;
    }

    /// <inheritdoc/>
    public override int GetSockName(out byte[] address)
    {
        if (_host != null) { address = Unnamed; return 0; }
        lock (s_lock) address = _address ?? Unnamed;
        return 0;
    }

    /// <inheritdoc/>
    public override int GetPeerName(out byte[] address)
    {
        if (_host != null) { address = _hostPeerAddress ?? Unnamed; return 0; }
        lock (s_lock)
        {
            address = Unnamed;
            if (_peer == null || !_connected && !IsDgram) return -Errno.ENOTCONN;
            address = _peer._address ?? Unnamed;
            return 0;
        }
    }

    // ---- connections --------------------------------------------------------------------------

    /// <inheritdoc/>
    public override int Listen(Task task, int backlog)
    {
        if (_host != null) return -Errno.EINVAL;
        if (IsDgram) return -Errno.EOPNOTSUPP;
        lock (s_lock)
        {
            if (_connected) return -Errno.EINVAL;
            if (_address == null) return -Errno.EINVAL;
            _listening = true;
            _backlog ??= new Queue<UnixSocket>();
            _backlogMax = Math.Clamp(backlog, 1, 4096);
        }
        Queue.Notify();
        return 0;
    }

    /// <inheritdoc/>
    public override int Accept(Task task, bool nonBlocking, out SocketFile? accepted, out byte[] peer)
    {
        if (_host != null) { accepted = null; peer = Unnamed; return -Errno.EINVAL; }
        accepted = null;
        peer = Unnamed;
        if (IsDgram) return -Errno.EOPNOTSUPP;
        while (true)
        {
            lock (s_lock)
            {
                if (!_listening) return -Errno.EINVAL;
                if (_backlog!.Count > 0)
                {
                    var s = _backlog.Dequeue();
                    accepted = s;
                    peer = s._peer?._address ?? Unnamed;
                    Queue.Notify();
                    return 0;
                }
                if (nonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (s_lock) return !_listening || _backlog!.Count > 0; }, Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override int Connect(Task task, byte[] address)
    {
        if (_host != null) return -Errno.EISCONN;
        int err = Lookup(task, address, out var target, out Inode? unbound);
        if (err == -Errno.ECONNREFUSED && unbound is Gofer.GoferInode file && (_vfs.HostUds & RunscNet.Gofer.HostUnixSockets.Open) != 0)
            return ConnectHost(file, address);
        if (err != 0) return err;
        if (target!._type != _type) return -Errno.EPROTOTYPE;
        if (IsDgram)
        {
            lock (s_lock) _peer = target;
            return 0;
        }
        while (true)
        {
            lock (s_lock)
            {
                if (_connected) return -Errno.EISCONN;
                if (_listening) return -Errno.EINVAL;
                if (!target._listening || target._closed) return -Errno.ECONNREFUSED;
                if (target._backlog!.Count < target._backlogMax)
                {
                    var server = new UnixSocket(task, _type, 0) { _address = target._address };
                    server._creds = target._creds;
                    server._peer = this;
                    _peer = server;
                    server._connected = _connected = true;
                    server._peerCreds = _creds;
                    _peerCreds = target._creds;
                    target._backlog.Enqueue(server);
                    target.Queue.Notify(PollEvents.POLLIN | PollEvents.POLLRDNORM);
                    Queue.Notify();
                    return 0;
                }
                if (NonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (s_lock) return !target._listening || target._closed || target._backlog!.Count < target._backlogMax; }, target.Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    // ---- data -----------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override long Send(Task task, ReadOnlySpan<byte> data, SocketMessage message, int flags)
    {
        if (_host is { } host) return SendHost(task, host, data, message, flags);
        bool nonBlocking = NonBlocking || (flags & MSG_DONTWAIT) != 0;
        UnixSocket? target;
        byte[]? from;
        lock (s_lock)
        {
            if (_shutWrite) return Epipe(task, flags);
            from = _address;
        }
        if (IsDgram)
        {
            if (message.Address != null)
            {
                int err = Lookup(task, message.Address, out target);
                if (err != 0) return err;
                if (target!._type != _type) return -Errno.EPROTOTYPE;
            }
            else
            {
                lock (s_lock) target = _peer;
                if (target == null) return -Errno.ENOTCONN;
            }
            if (data.Length > DefaultBuffer) return -Errno.EMSGSIZE;
            return Enqueue(task, target, data.ToArray(), message, from, nonBlocking, whole: true);
        }
        lock (s_lock)
        {
            if (!_connected) return _listening ? -Errno.ENOTCONN : (IsStream ? -Errno.ENOTCONN : -Errno.ENOTCONN);
            target = _peer;
        }
        if (message.Address != null && !IsStream) { /* ignored for connected sockets, as Linux does for seqpacket */ }
        if (_type == SOCK_SEQPACKET)
        {
            if (data.Length > DefaultBuffer) return -Errno.EMSGSIZE;
            return Enqueue(task, target!, data.ToArray(), message, from, nonBlocking, whole: true, flags: flags);
        }
        // Stream: as much as fits, blocking for the rest unless non-blocking.
        long sent = 0;
        var rights = message.Rights;
        while (sent < data.Length || (data.Length == 0 && sent == 0))
        {
            int chunk;
            lock (s_lock)
            {
                if (_peerClosed || target!._closed || target._shutRead) return sent > 0 ? sent : Epipe(task, flags);
                int space = DefaultBuffer - target._recvBytes;
                chunk = (int)Math.Min(space, data.Length - sent);
                if (chunk > 0 || data.Length == 0)
                {
                    target._recv.AddLast(new Item { Data = data.Slice((int)sent, chunk).ToArray(), Rights = rights, From = from, Creds = _creds });
                    target._recvBytes += chunk;
                    rights = null;
                    sent += chunk;
                    target.Queue.Notify(PollEvents.POLLIN | PollEvents.POLLRDNORM);
                    if (data.Length == 0) return 0;
                    continue;
                }
                if (nonBlocking) return sent > 0 ? sent : -Errno.EAGAIN;
            }
            var t2 = target!;
            if (task.Block(() => { lock (s_lock) return _peerClosed || t2._closed || t2._shutRead || DefaultBuffer - t2._recvBytes > 0; }, new[] { Queue, t2.Queue }) == BlockResult.Interrupted)
                return sent > 0 ? sent : -Errno.ERESTARTSYS;
        }
        return sent;
    }

    private long Epipe(Task task, int flags)
    {
        if ((flags & MSG_NOSIGNAL) == 0) BrokenPipe(task);
        return -Errno.EPIPE;
    }

    private long Enqueue(Task task, UnixSocket target, byte[] data, SocketMessage message, byte[]? from, bool nonBlocking, bool whole, int flags = 0)
    {
        while (true)
        {
            lock (s_lock)
            {
                if (target._closed || target._shutRead || (!IsDgram && _peerClosed))
                {
                    if (IsDgram) return -Errno.ECONNREFUSED;
                    return Epipe(task, flags);
                }
                if (DefaultBuffer - target._recvBytes >= data.Length || target._recvBytes == 0)
                {
                    target._recv.AddLast(new Item { Data = data, Rights = message.Rights, From = from, Creds = _creds });
                    target._recvBytes += data.Length;
                    target.Queue.Notify(PollEvents.POLLIN | PollEvents.POLLRDNORM);
                    return data.Length;
                }
                if (nonBlocking) return -Errno.EAGAIN;
            }
            if (task.Block(() => { lock (s_lock) return target._closed || DefaultBuffer - target._recvBytes >= data.Length; }, target.Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override long Receive(Task task, Span<byte> buffer, SocketMessage result, int flags)
    {
        if (_host is { } host) return ReceiveHost(task, host, buffer, result, flags);
        bool nonBlocking = NonBlocking || (flags & MSG_DONTWAIT) != 0;
        bool peek = (flags & MSG_PEEK) != 0;
        while (true)
        {
            lock (s_lock)
            {
                if (_recv.Count > 0)
                {
                    if (IsStream) return ReceiveStream(buffer, result, peek, flags);
                    var item = _recv.First!.Value;
                    int n = Math.Min(buffer.Length, item.Data.Length);
                    item.Data.AsSpan(0, n).CopyTo(buffer);
                    // An unbound sender has no address: msg_namelen 0, as Linux's unix_copy_addr.
                    result.Address = item.From ?? Array.Empty<byte>();
                    result.Credentials = item.Creds;
                    if (n < item.Data.Length) result.Flags |= MSG_TRUNC;
                    if (!peek)
                    {
                        _recv.RemoveFirst();
                        _recvBytes -= item.Data.Length;
                        result.Rights = item.Rights;
                        Queue.Notify();
                        _peer?.Queue.Notify();
                    }
                    return (flags & MSG_TRUNC) != 0 ? item.Data.Length : n;
                }
                if (_shutRead || _peerClosed || (!IsDgram && !_connected && !_listening && _peer == null && _closed)) return 0;
                if (!IsDgram && !_connected) return -Errno.ENOTCONN;
                if (nonBlocking) return -Errno.EAGAIN;
            }
            if (buffer.Length == 0 && IsStream) return 0;
            if (task.Block(() => { lock (s_lock) return _recv.Count > 0 || _shutRead || _peerClosed; }, Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    private long ReceiveStream(Span<byte> buffer, SocketMessage result, bool peek, int flags)
    {
        int copied = 0;
        var node = _recv.First;
        while (node != null && copied < buffer.Length)
        {
            var item = node.Value;
            // Never merge data across a message carrying files, as Linux does not.
            if (item.Rights != null && copied > 0) break;
            int n = Math.Min(buffer.Length - copied, item.Data.Length - item.Offset);
            item.Data.AsSpan(item.Offset, n).CopyTo(buffer[copied..]);
            copied += n;
            result.Credentials = item.Creds;
            var next = node.Next;
            if (!peek)
            {
                if (item.Rights != null) { result.Rights = item.Rights; item.Rights = null; }
                item.Offset += n;
                _recvBytes -= n;
                if (item.Offset == item.Data.Length) _recv.Remove(node);
            }
            node = next;
            if (result.Rights != null) break;
        }
        result.Address = Unnamed;
        if (!peek)
        {
            Queue.Notify();
            _peer?.Queue.Notify();
        }
        return copied;
    }

    /// <inheritdoc/>
    public override int Shutdown(Task task, int how)
    {
        if (_host is { } host) return host.Shutdown(task, how);
        if (how is < 0 or > 2) return -Errno.EINVAL;
        lock (s_lock)
        {
            if (!_connected && !IsDgram) return -Errno.ENOTCONN;
            if (how != 1) _shutRead = true;
            if (how != 0)
            {
                _shutWrite = true;
                if (_peer != null && !IsDgram) _peer._peerClosed = true;
            }
            Queue.Notify();
            _peer?.Queue.Notify();
        }
        return 0;
    }

    // ---- options and readiness --------------------------------------------------------------

    /// <inheritdoc/>
    public override int SetOption(Task task, int level, int name, byte[] value)
    {
        if (_host is { } host && IsHostOption(level, name, set: true)) return host.SetOption(task, level, name, value);
        if (level != 1) return -Errno.ENOPROTOOPT;
        lock (s_lock) _options[(level, name)] = value;
        return 0;
    }

    /// <inheritdoc/>
    public override int GetOption(Task task, int level, int name, out byte[] value)
    {
        if (_host is { } host && IsHostOption(level, name, set: false)) return host.GetOption(task, level, name, out value);
        value = Array.Empty<byte>();
        if (level != 1) return -Errno.ENOPROTOOPT;
        lock (s_lock)
        {
            switch (name)
            {
                case 3: value = IntOption(_type); return 0; // SO_TYPE
                case 4: value = IntOption(0); return 0; // SO_ERROR
                case 7: case 8: value = IntOption(DefaultBuffer); return 0; // SO_SNDBUF, SO_RCVBUF
                case 30: value = IntOption(_listening ? 1 : 0); return 0; // SO_ACCEPTCONN
                case 38: value = IntOption(0); return 0; // SO_PROTOCOL
                case 39: value = IntOption(1); return 0; // SO_DOMAIN
                case 17: // SO_PEERCRED
                    {
                        var c = _peerCreds ?? (0, uint.MaxValue, uint.MaxValue);
                        value = new byte[12];
                        BitConverter.TryWriteBytes(value.AsSpan(0), c.Pid);
                        BitConverter.TryWriteBytes(value.AsSpan(4), c.Uid);
                        BitConverter.TryWriteBytes(value.AsSpan(8), c.Gid);
                        return 0;
                    }
                default:
                    value = _options.TryGetValue((level, name), out var v) ? v : IntOption(0);
                    return 0;
            }
        }
    }

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        if (_host is { } host) return host.Readiness(mask);
        int ev = 0;
        lock (s_lock)
        {
            if (_listening)
            {
                if (_backlog!.Count > 0) ev |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }
            else
            {
                if (_recv.Count > 0 || _shutRead || _peerClosed) ev |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
                if (_peerClosed && _shutWrite || (_peerClosed && !IsDgram)) ev |= PollEvents.POLLHUP;
                if (_peerClosed) ev |= PollEvents.POLLRDHUP;
                var target = _peer;
                if (IsDgram || (_connected && target != null))
                {
                    if (target == null || DefaultBuffer - target._recvBytes > 0 || _peerClosed) ev |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
                }
                else if (!_connected && !IsDgram && !_listening)
                {
                    ev |= PollEvents.POLLOUT;
                }
            }
        }
        return (short)(ev & (mask | PollEvents.POLLHUP | PollEvents.POLLERR));
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => _host?.ReadinessQueue ?? Queue;

    /// <inheritdoc/>
    public override long Ioctl(Task task, uint request, ulong argument)
    {
        if (_host is { } host && request is 0x541B or 0x5411) return host.Ioctl(task, request, argument); // FIONREAD, TIOCOUTQ
        if (request == 0x541B) // FIONREAD / SIOCINQ
        {
            int n;
            lock (s_lock) n = IsStream ? _recvBytes : (_recv.First?.Value.Data.Length ?? 0);
            return Memory.MemoryIOExtensions.CopyOutStruct(task.Memory, argument, n);
        }
        // Device queries work on any socket (netdevice(7)).
        return InterfaceIoctls.Handles(request) ? InterfaceIoctls.Ioctl(task, -1, request, argument) : -Errno.ENOTTY;
    }

    /// <inheritdoc/>
    public override void Release()
    {
        List<FileDescription> drop = new();
        List<UnixSocket> pending = new();
        lock (s_lock)
        {
            _closed = true;
            foreach (var item in _recv) if (item.Rights != null) drop.AddRange(item.Rights);
            _recv.Clear();
            _recvBytes = 0;
            if (_peer != null && !IsDgram)
            {
                _peer._peerClosed = true;
                _peer.Queue.Notify();
            }
            if (_backlog != null) { pending.AddRange(_backlog); _backlog.Clear(); }
            _listening = false;
            if (_abstractName != null && _vfs.AbstractSockets.TryGetValue(_abstractName, out var o) && o == this) _vfs.AbstractSockets.Remove(_abstractName);
            if (_boundInode != null && _boundInode.BoundSocket == this) _boundInode.BoundSocket = null;
            Queue.Notify();
        }
        foreach (var s in pending) s.DecRef();
        foreach (var f in drop) f.DecRef();
        ReleaseHost();
    }
}
