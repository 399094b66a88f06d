using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.StateFile.Checkpoint;

namespace RunscNet.Sentry.Vfs.Socket;

// Checkpoint and restore of a unix socket (sandbox/Checkpoint/): its state as an image record, and
// a socket rebuilt from one. Other sockets are named by index (the saver and restorer keep the
// tables); what cannot be saved is named in a refusal instead.
internal sealed partial class UnixSocket
{
    /// <summary>The largest sockaddr_un (sizeof(struct sockaddr_un)).</summary>
    private const int MaxAddress = 110;

    /// <summary>Why this socket cannot be saved, or null: a connection to a host socket, files in flight.</summary>
    public string? CheckpointRefusal()
    {
        lock (s_lock)
        {
            if (_host != null) return "a unix socket connected to a host socket (--host-uds)";
        }
        return null;
    }

    /// <summary>The files in flight (SCM_RIGHTS not yet received) to this socket and to the connections in its backlog.</summary>
    public IReadOnlyList<FileDescription> InFlightFiles()
    {
        var list = new List<FileDescription>();
        lock (s_lock)
        {
            foreach (var item in _recv) if (item.Rights != null) list.AddRange(item.Rights);
            if (_backlog != null)
                foreach (var s in _backlog)
                    foreach (var item in s._recv) if (item.Rights != null) list.AddRange(item.Rights);
        }
        return list;
    }

    /// <summary>The sockets this one refers to (peer, backlog), which the image must hold too.</summary>
    public IReadOnlyList<UnixSocket> CheckpointReferences()
    {
        var list = new List<UnixSocket>();
        lock (s_lock)
        {
            if (_peer != null) list.Add(_peer);
            if (_backlog != null) list.AddRange(_backlog);
        }
        return list;
    }

    /// <summary>
    /// This socket as an image record; <paramref name="indexOf"/> gives another socket's index in
    /// the image, <paramref name="pathOf"/> the absolute path of the socket file it is bound to.
    /// Preconditions: <see cref="CheckpointRefusal"/> returned null and every task is stopped.
    /// </summary>
    public UnixSocketImage SaveCheckpoint(Func<UnixSocket, int> indexOf, Func<VfsPath, string> pathOf, Func<FileDescription, int> fileIndexOf)
    {
        var inFlight = new List<(UnixMessageImage Message, FileDescription[] Files)>();
        UnixSocket? peer;
        UnixSocket[] backlog;
        var image = new UnixSocketImage { Type = _type, Flags = StatusFlags };
        lock (s_lock)
        {
            peer = _peer;
            backlog = _backlog?.ToArray() ?? [];
            image.Connected = _connected;
            image.Listening = _listening;
            image.BacklogMax = _backlogMax;
            image.PeerClosed = _peerClosed;
            image.ShutRead = _shutRead;
            image.ShutWrite = _shutWrite;
            image.Closed = _closed;
            image.Address = _address ?? [];
            (image.CredPid, image.CredUid, image.CredGid) = _creds;
            if (_peerCreds is { } pc)
            {
                image.HasPeerCred = true;
                (image.PeerCredPid, image.PeerCredUid, image.PeerCredGid) = pc;
            }
            foreach (var item in _recv)
            {
                var (pid, uid, gid) = item.Creds;
                var message = new UnixMessageImage
                {
                    Data = item.Data.AsSpan(item.Offset).ToArray(), From = item.From ?? [], CredPid = pid, CredUid = uid, CredGid = gid,
                };
                image.Queue.Add(message);
                if (item.Rights is { Count: > 0 } rights) inFlight.Add((message, rights.ToArray()));
            }
            foreach (var ((level, name), value) in _options)
                image.Options.Add(new SocketOptionImage { Level = level, Name = name, Value = value });
        }
        // The files in flight are saved as the descriptions they are (outside the lock: saving a
        // file may save other sockets).
        foreach (var (message, files) in inFlight)
        {
            message.Rights = new byte[files.Length * 4];
            for (int i = 0; i < files.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(message.Rights.AsSpan(i * 4), (uint)fileIndexOf(files[i]));
        }
        if (_boundAt is { } at && image.Address.Length > 2 && image.Address[2] != 0) image.BoundPath = pathOf(at);
        if (peer != null) image.Peer = indexOf(peer) + 1;
        image.Backlog = new byte[backlog.Length * 4];
        for (int i = 0; i < backlog.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(image.Backlog.AsSpan(i * 4), (uint)(indexOf(backlog[i]) + 1));
        return image;
    }

    /// <summary>
    /// A socket with the scalar state of <paramref name="image"/> (one reference, the caller's);
    /// <see cref="LinkCheckpoint"/> then connects it to the others. Throws
    /// <see cref="InvalidOperationException"/> for a malformed record.
    /// </summary>
    public static UnixSocket FromCheckpoint(Task task, UnixSocketImage image, int index)
    {
        string what = $"unix socket {index}";
        if (image.Type is not (SOCK_STREAM or SOCK_DGRAM or SOCK_SEQPACKET)) throw Bad(what, $"has invalid type {image.Type}");
        if (image.Address.Length > MaxAddress || image.Address.Length == 1 || (image.Address.Length >= 2 && BinaryPrimitives.ReadUInt16LittleEndian(image.Address) != 1))
            throw Bad(what, "has an invalid address");
        if (image.Queue.Count > 65536 || image.Options.Count > 256) throw Bad(what, "has too many queued messages or options");
        long bytes = 0;
        foreach (var m in image.Queue)
        {
            bytes += m.Data.Length;
            if (m.From.Length > MaxAddress) throw Bad(what, "has a queued message with an invalid sender address");
            // SCM_MAX_FD files per message at most, as sendmsg allows.
            if (m.Rights.Length % 4 != 0 || m.Rights.Length / 4 > MaxRightsPerMessage) throw Bad(what, "has a queued message with malformed files in flight");
        }
        if (bytes > 4L * DefaultBuffer) throw Bad(what, $"holds {bytes} queued bytes, more than a socket can");
        var s = new UnixSocket(task, image.Type, 0)
        {
            StatusFlags = OpenFlags.O_RDWR | (image.Flags & OpenFlags.O_NONBLOCK),
            _connected = image.Connected,
            _listening = image.Listening,
            _backlogMax = Math.Clamp(image.BacklogMax, 1, 4096),
            _peerClosed = image.PeerClosed,
            _shutRead = image.ShutRead,
            _shutWrite = image.ShutWrite,
            _closed = image.Closed,
            _address = image.Address.Length >= 2 ? image.Address : null,
            _creds = (image.CredPid, image.CredUid, image.CredGid),
            _peerCreds = image.HasPeerCred ? (image.PeerCredPid, image.PeerCredUid, image.PeerCredGid) : null,
        };
        if (image.Listening) s._backlog = new Queue<UnixSocket>();
        foreach (var m in image.Queue)
        {
            s._recv.AddLast(new Item { Data = m.Data, From = m.From.Length > 0 ? m.From : null, Creds = (m.CredPid, m.CredUid, m.CredGid) });
            s._recvBytes += m.Data.Length;
        }
        foreach (var o in image.Options)
        {
            if (o.Value.Length > 256) throw Bad(what, "has an oversized socket option");
            s._options[(o.Level, o.Name)] = o.Value;
        }
        return s;
    }

    private static InvalidOperationException Bad(string what, string why) => new($"restore: {what} {why}");

    /// <summary>SCM_MAX_FD: the most files one sendmsg passes.</summary>
    private const int MaxRightsPerMessage = 253;

    /// <summary>
    /// Puts the files in flight of <paramref name="image"/>'s queued messages back on this socket's
    /// messages, each the description <paramref name="fileAt"/> gives for its index (once every
    /// process's files exist, so a description also held by an fd stays one description).
    /// </summary>
    public void LinkInFlight(UnixSocketImage image, int index, Func<int, FileDescription> fileAt)
    {
        string what = $"unix socket {index}";
        var pending = new List<(Item Item, List<FileDescription> Files)>();
        var node = _recv.First;
        foreach (var m in image.Queue)
        {
            if (node == null) throw Bad(what, "lost a queued message");
            if (m.Rights.Length > 0)
            {
                var files = new List<FileDescription>();
                for (int i = 0; i < m.Rights.Length / 4; i++)
                {
                    var f = fileAt((int)BinaryPrimitives.ReadUInt32LittleEndian(m.Rights.AsSpan(i * 4)));
                    f.IncRef();
                    files.Add(f);
                }
                pending.Add((node.Value, files));
            }
            node = node.Next;
        }
        lock (s_lock)
            foreach (var (item, files) in pending) item.Rights = files;
    }

    /// <summary>
    /// Connects a socket made by <see cref="FromCheckpoint"/> to the others of the image
    /// (<paramref name="all"/>, by index) and binds it again: an abstract name is registered, a
    /// path-bound socket takes over the socket file at its path (created when missing).
    /// The backlog's sockets take over their creation reference.
    /// </summary>
    public void LinkCheckpoint(Task task, UnixSocketImage image, int index, IReadOnlyList<UnixSocket> all)
    {
        string what = $"unix socket {index}";
        UnixSocket? At(int oneBased, string role)
        {
            if (oneBased == 0) return null;
            if (oneBased < 0 || oneBased > all.Count || oneBased - 1 == index) throw Bad(what, $"names an invalid {role} {oneBased - 1}");
            return all[oneBased - 1];
        }
        var peer = At(image.Peer, "peer");
        if (peer != null && peer._type != _type) throw Bad(what, "is connected to a socket of another type");
        // The data paths rely on these: a connected stream or seqpacket socket has a peer until that closes.
        if (image.Connected && image.Listening) throw Bad(what, "is both connected and listening");
        if (image.Connected && _type != SOCK_DGRAM && peer == null && !image.PeerClosed) throw Bad(what, "is connected but has no peer");
        if (image.Backlog.Length % 4 != 0 || image.Backlog.Length / 4 > 4096) throw Bad(what, "has a malformed backlog");
        if (image.Backlog.Length > 0 && !image.Listening) throw Bad(what, "has a backlog but does not listen");
        lock (s_lock)
        {
            _peer = peer;
            for (int i = 0; i < image.Backlog.Length / 4; i++)
            {
                var pending = At((int)BinaryPrimitives.ReadUInt32LittleEndian(image.Backlog.AsSpan(i * 4)), "pending connection")!;
                if (pending._type != _type) throw Bad(what, "has a pending connection of another type");
                _backlog!.Enqueue(pending);
            }
        }
        if (_closed || _address == null || _address.Length <= 2) return;
        if (_address[2] == 0)
        {
            string name = Convert.ToHexString(_address, 3, _address.Length - 3);
            lock (s_lock)
            {
                if (_vfs.AbstractSockets.TryGetValue(name, out var existing) && existing is UnixSocket { _closed: false })
                    throw Bad(what, "is bound to an abstract name another socket of the image holds");
                _vfs.AbstractSockets[name] = this;
                _abstractName = name;
            }
            return;
        }
        if (image.BoundPath.Length == 0) return;   // bound, but its socket file was removed: nobody can connect by path
        string path = image.BoundPath;
        if (!path.StartsWith('/') || path.Length > 4096 || path.Contains('\0')) throw Bad(what, "has an invalid socket file path");
        int err = _vfs.Resolve(task, task.Fs.Root, path, false, out var loc);
        if (err == -Errno.ENOENT)
        {
            err = _vfs.BindSocketPath(task, PathConsts.AT_FDCWD, path, 0x1ff, this, out loc);
            if (err != 0) throw Bad(what, $"cannot be bound again at {path}: errno {-err}");
        }
        else if (err != 0)
        {
            throw Bad(what, $"cannot be bound again at {path}: errno {-err}");
        }
        else
        {
            if ((loc.Inode.Mode & LinuxMode.S_IFMT) != LinuxMode.S_IFSOCK) throw Bad(what, $"cannot be bound again: {path} is no longer a socket file");
            if (loc.Inode.BoundSocket is UnixSocket { _closed: false }) throw Bad(what, $"cannot be bound again: another socket of the image is bound at {path}");
            loc.Inode.BoundSocket = this;
        }
        lock (s_lock)
        {
            _boundInode = loc.Inode;
            _boundAt = loc;
        }
    }
}
