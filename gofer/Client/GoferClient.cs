using System.Buffers;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using Tmds.Linux;

namespace RunscNet.Gofer;

/// <summary>
/// The Sentry's side of the gofer protocol over one SOCK_SEQPACKET socket. Thread-safe: many task
/// threads may call at once; requests go one at a time under a lock (the gofer serves one at a
/// time anyway), each answer is matched by operation and tag. Every call returns 0 or a negative
/// Linux errno. If the gofer dies, the socket closes, or an answer is malformed, the connection is
/// marked broken and this and every later call return -EIO at once.
/// Handles are the gofer's: every handle a call returns must be given back with
/// <see cref="Release"/>. Donated host fds (<c>hostFd</c>) belong to the caller (close-on-exec).
/// </summary>
public sealed class GoferClient : IDisposable
{
    private readonly object _lock = new();
    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private readonly byte[] _receiveBuffer = new byte[ProtocolLimits.MaxMessageSize];
    private readonly Dictionary<ulong, bool> _readOnly = new();
    // Raw: read on every file operation of the Sentry, closed once under _lock (Dispose).
    private int _fd;
    private bool _broken;
    private uint _tag;
    private long _roundTrips;
    private readonly System.Collections.Concurrent.ConcurrentQueue<ulong> _pendingRelease = new();
    private int _pendingReleaseCount;

    /// <summary>Queued releases are sent once this many are pending.</summary>
    public const int ReleaseBatch = 64;

    private const int MaxHandlesPerRelease = 1024;

    /// <summary>
    /// Takes ownership of <paramref name="socketFd"/> (one end of a SOCK_SEQPACKET pair whose other
    /// end a GoferServer serves) and performs the version handshake.
    /// </summary>
    /// <exception cref="IOException">The gofer is gone or speaks another protocol version (the fd is closed).</exception>
    public GoferClient(int socketFd)
    {
        _fd = socketFd;
        int r = Call(Operation.Handshake, new HandshakeRequest { Version = ProtocolLimits.Version },
            out HandshakeResponse? response, out _);
        if (r < 0 || response is null || response.Version != ProtocolLimits.Version)
        {
            Dispose();
            throw new IOException(response is not null && response.Version != ProtocolLimits.Version
                ? $"gofer speaks protocol version {response.Version}, this client version {ProtocolLimits.Version}"
                : $"gofer handshake failed (errno {-r})");
        }
    }

    /// <summary>True once the connection failed; every call now returns -EIO.</summary>
    public bool IsBroken
    {
        get
        {
            lock (_lock)
            {
                return _broken;
            }
        }
    }

    /// <summary>
    /// How many requests this client has sent to the gofer (each one round trip), counting the
    /// handshake. For measuring and tests: how often a path walk or stat needed the gofer.
    /// </summary>
    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    /// <summary>Attaches to the mount at absolute <paramref name="mountPath"/> ("/" = the container root).</summary>
    public int Attach(string mountPath, out ulong handle, out GoferStat stat)
    {
        int r = Call(Operation.Attach, new AttachRequest { Path = mountPath }, out AttachResponse? resp, out _);
        return TakeNode(r, resp?.Node, out handle, out stat);
    }

    /// <summary>
    /// Walks ONE component <paramref name="name"/> (no '/', '.', '..', NUL; not empty) from directory
    /// <paramref name="dir"/>. A symlink is returned as itself, never followed.
    /// </summary>
    public int Walk(ulong dir, string name, out ulong handle, out GoferStat stat)
    {
        int r = Call(Operation.Walk, new WalkRequest { Directory = dir, Name = name }, out WalkResponse? resp, out _);
        return TakeNode(r, resp?.Node, out handle, out stat);
    }

    /// <summary>
    /// Walks <paramref name="names"/> (each one component, as for <see cref="Walk"/>; at most
    /// 256) one after the other from <paramref name="dir"/> in one round trip. Every step walked
    /// is in <paramref name="steps"/> (each handle must be released). The walk stops after a
    /// symlink, which is the last step (returns 0 with fewer steps than names: resolve it and go
    /// on), and at the first failing component (returns its -errno; the steps before it are kept).
    /// </summary>
    public int WalkMany(ulong dir, IReadOnlyList<string> names, out List<GoferWalkStep> steps)
    {
        var request = new WalkManyRequest { Directory = dir };
        request.Names.AddRange(names);
        int r = Call(Operation.WalkMany, request, out WalkManyResponse? resp, out _);
        steps = new List<GoferWalkStep>();
        foreach (WireNode node in resp?.Nodes ?? new List<WireNode>())
        {
            TakeNode(0, node, out ulong handle, out GoferStat stat);
            steps.Add(new GoferWalkStep { Handle = handle, Stat = stat });
        }
        return r;
    }

    /// <summary>The current attributes of the file of <paramref name="handle"/> (not following a symlink).</summary>
    public int Stat(ulong handle, out GoferStat stat)
    {
        int r = Call(Operation.Stat, new StatRequest { Handle = handle }, out StatResponse? resp, out _);
        stat = r == 0 ? WireConversions.ToStat(resp!.Stat) : default;
        return r;
    }

    /// <summary>
    /// Opens the file of <paramref name="handle"/> and donates a host fd. <paramref name="flags"/>:
    /// O_ACCMODE, O_TRUNC, O_APPEND, O_DIRECT, O_SYNC, O_DSYNC, O_NOATIME, O_NONBLOCK (others are
    /// ignored). A symlink gives ELOOP, a device EACCES, a socket ENXIO; writing a directory EISDIR.
    /// A directory opened read-only succeeds with <paramref name="hostFd"/> = -1 (no directory fd
    /// leaves the gofer; read it with <see cref="GetDents"/>). A FIFO is opened non-blocking.
    /// </summary>
    public int Open(ulong handle, int flags, out int hostFd)
    {
        int r = Call(Operation.Open, new OpenRequest { Handle = handle, Flags = flags }, out OpenResponse? _, out hostFd);
        return r;
    }

    /// <summary>
    /// Creates regular file <paramref name="name"/> in <paramref name="dir"/> with O_CREAT|O_EXCL
    /// (EEXIST if it exists), owner <paramref name="uid"/>:<paramref name="gid"/> and exactly
    /// <paramref name="mode"/> (no umask), opens it with <paramref name="flags"/> and returns a handle
    /// and a donated fd.
    /// </summary>
    public int Create(ulong dir, string name, int flags, uint mode, uint uid, uint gid,
        out ulong handle, out GoferStat stat, out int hostFd)
    {
        int r = Call(Operation.Create, new CreateRequest { Directory = dir, Name = name, Flags = flags, Mode = mode, Uid = uid, Gid = gid },
            out CreateResponse? resp, out hostFd);
        return TakeNode(r, resp?.Node, out handle, out stat);
    }

    /// <summary>Creates directory <paramref name="name"/> with exactly <paramref name="mode"/> and the given owner.</summary>
    public int Mkdir(ulong dir, string name, uint mode, uint uid, uint gid, out ulong handle, out GoferStat stat)
    {
        int r = Call(Operation.Mkdir, new MkdirRequest { Directory = dir, Name = name, Mode = mode, Uid = uid, Gid = gid },
            out MkdirResponse? resp, out _);
        return TakeNode(r, resp?.Node, out handle, out stat);
    }

    /// <summary>
    /// Creates a regular file, FIFO or socket node (type from <paramref name="mode"/>'s S_IFMT bits;
    /// 0 means regular). Device nodes are refused with EPERM.
    /// </summary>
    public int Mknod(ulong dir, string name, uint mode, ulong rdev, uint uid, uint gid, out ulong handle, out GoferStat stat)
    {
        int r = Call(Operation.Mknod, new MknodRequest { Directory = dir, Name = name, Mode = mode, Rdev = rdev, Uid = uid, Gid = gid },
            out MknodResponse? resp, out _);
        return TakeNode(r, resp?.Node, out handle, out stat);
    }

    /// <summary>Creates symlink <paramref name="name"/> → <paramref name="target"/> (stored verbatim, never resolved by the gofer).</summary>
    public int Symlink(ulong dir, string name, string target, uint uid, uint gid, out ulong handle, out GoferStat stat)
    {
        int r = Call(Operation.Symlink, new SymlinkRequest { Directory = dir, Name = name, Target = target, Uid = uid, Gid = gid },
            out SymlinkResponse? resp, out _);
        return TakeNode(r, resp?.Node, out handle, out stat);
    }

    /// <summary>Hard-links the file of <paramref name="target"/> as <paramref name="name"/> in <paramref name="dir"/>; returns the file's new attributes.</summary>
    public int Link(ulong dir, string name, ulong target, out GoferStat stat)
    {
        int r = Call(Operation.Link, new LinkRequest { Directory = dir, Name = name, Target = target }, out LinkResponse? resp, out _);
        stat = r == 0 ? WireConversions.ToStat(resp!.Stat) : default;
        return r;
    }

    /// <summary>Removes <paramref name="name"/> from <paramref name="dir"/>: rmdir when <paramref name="directory"/>, else unlink.</summary>
    public int Unlink(ulong dir, string name, bool directory) =>
        Call(Operation.Unlink, new UnlinkRequest { Directory = dir, Name = name, IsDirectory = directory }, out UnlinkResponse? _, out _);

    /// <summary>renameat2: <paramref name="flags"/> may hold RENAME_NOREPLACE (1) or RENAME_EXCHANGE (2).</summary>
    public int Rename(ulong oldDir, string oldName, ulong newDir, string newName, uint flags) =>
        Call(Operation.Rename, new RenameRequest { OldDirectory = oldDir, OldName = oldName, NewDirectory = newDir, NewName = newName, Flags = flags },
            out RenameResponse? _, out _);

    /// <summary>The target of the symlink of <paramref name="handle"/> (EINVAL if it is not a symlink).</summary>
    public int Readlink(ulong handle, out string target)
    {
        int r = Call(Operation.Readlink, new ReadlinkRequest { Handle = handle }, out ReadlinkResponse? resp, out _);
        target = r == 0 ? resp!.Target : "";
        return r;
    }

    /// <summary>Applies the attribute changes selected by <see cref="GoferSetAttr.Mask"/> (see there for the bits).</summary>
    public int SetAttr(ulong handle, in GoferSetAttr attr) =>
        Call(Operation.SetAttr, new SetAttrRequest
        {
            Handle = handle, Mask = attr.Mask, Mode = attr.Mode, Uid = attr.Uid, Gid = attr.Gid, Size = attr.Size,
            AtimeSec = attr.AtimeSec, AtimeNsec = attr.AtimeNsec, MtimeSec = attr.MtimeSec, MtimeNsec = attr.MtimeNsec,
        }, out SetAttrResponse? _, out _);

    /// <summary>Every entry of directory <paramref name="dir"/> except "." and "..".</summary>
    public int GetDents(ulong dir, out List<GoferDirEntry> entries)
    {
        entries = new List<GoferDirEntry>();
        long cookie = 0;
        while (true)
        {
            int r = Call(Operation.GetDents, new GetDentsRequest { Directory = dir, Cookie = cookie }, out GetDentsResponse? resp, out _);
            if (r < 0)
            {
                entries.Clear();
                return r;
            }
            foreach (WireDirEntry e in resp!.Entries)
            {
                entries.Add(new GoferDirEntry { Name = e.Name, Ino = e.Ino, Type = (byte)e.Type });
            }
            if (resp.End)
            {
                return 0;
            }
            if (resp.Entries.Count == 0 && resp.NextCookie == cookie)
            {
                return -Errno.EIO; // no progress: a gofer bug, not a reason to loop forever
            }
            cookie = resp.NextCookie;
        }
    }

    /// <summary>Statistics of the file system holding <paramref name="handle"/>.</summary>
    public int StatFs(ulong handle, out GoferStatFs stat)
    {
        int r = Call(Operation.StatFs, new StatFsRequest { Handle = handle }, out StatFsResponse? resp, out _);
        stat = r == 0 ? new GoferStatFs
        {
            Type = resp!.Type, BlockSize = resp.BlockSize, Blocks = resp.Blocks, BlocksFree = resp.BlocksFree,
            BlocksAvailable = resp.BlocksAvailable, Files = resp.Files, FilesFree = resp.FilesFree,
            NameLength = resp.NameLength, Flags = resp.Flags, FragmentSize = resp.FragmentSize,
        } : default;
        return r;
    }

    /// <summary>The value of extended attribute <paramref name="name"/> (only the "user." namespace is served; others EOPNOTSUPP).</summary>
    public int GetXattr(ulong handle, string name, out byte[] value)
    {
        int r = Call(Operation.GetXattr, new GetXattrRequest { Handle = handle, Name = name }, out GetXattrResponse? resp, out _);
        value = r == 0 ? resp!.Value ?? Array.Empty<byte>() : Array.Empty<byte>();
        return r;
    }

    /// <summary>Sets extended attribute <paramref name="name"/>; <paramref name="flags"/>: XATTR_CREATE (1), XATTR_REPLACE (2).</summary>
    public int SetXattr(ulong handle, string name, byte[] value, int flags)
    {
        if (value.Length > ExtendedAttributes.MaxValueSize)
        {
            return -Errno.E2BIG;
        }
        return Call(Operation.SetXattr, new SetXattrRequest { Handle = handle, Name = name, Value = value, Flags = flags },
            out SetXattrResponse? _, out _);
    }

    /// <summary>The names of the extended attributes of <paramref name="handle"/> ("user." ones).</summary>
    public int ListXattr(ulong handle, out List<string> names)
    {
        int r = Call(Operation.ListXattr, new ListXattrRequest { Handle = handle }, out ListXattrResponse? resp, out _);
        names = r == 0 ? resp!.Names ?? new List<string>() : new List<string>();
        return r;
    }

    /// <summary>Removes extended attribute <paramref name="name"/>.</summary>
    public int RemoveXattr(ulong handle, string name) =>
        Call(Operation.RemoveXattr, new RemoveXattrRequest { Handle = handle, Name = name }, out RemoveXattrResponse? _, out _);

    /// <summary>Flushes the file (or directory) of <paramref name="handle"/> to stable storage.</summary>
    public int Fsync(ulong handle) =>
        Call(Operation.Fsync, new FsyncRequest { Handle = handle }, out FsyncResponse? _, out _);

    /// <summary>
    /// Creates a host AF_UNIX socket of <paramref name="type"/> (SOCK_STREAM, SOCK_DGRAM,
    /// SOCK_SEQPACKET) bound at <paramref name="name"/> in <paramref name="dir"/>, and donates it
    /// (not yet listening). The socket file belongs to root.
    /// </summary>
    public int BindSocket(ulong dir, string name, int type, out int hostFd) =>
        BindSocket(dir, name, type, 0, 0, out hostFd);

    /// <summary>As <see cref="BindSocket(ulong, string, int, out int)"/>, with the socket file owned by <paramref name="uid"/>:<paramref name="gid"/>.</summary>
    public int BindSocket(ulong dir, string name, int type, uint uid, uint gid, out int hostFd) =>
        Call(Operation.BindSocket, new BindSocketRequest { Directory = dir, Name = name, Type = type, Uid = uid, Gid = gid },
            out BindSocketResponse? _, out hostFd);

    /// <summary>
    /// Connects a new host AF_UNIX socket of <paramref name="type"/> to the socket file of
    /// <paramref name="handle"/> and donates it. Never blocks: a full backlog gives EAGAIN.
    /// </summary>
    public int ConnectSocket(ulong handle, int type, out int hostFd) =>
        Call(Operation.ConnectSocket, new ConnectSocketRequest { Handle = handle, Type = type }, out ConnectSocketResponse? _, out hostFd);

    /// <summary>Gives <paramref name="handle"/> back to the gofer; it must not be used afterwards.</summary>
    public void Release(ulong handle)
    {
        lock (_lock)
        {
            _readOnly.Remove(handle);
        }
        Call(Operation.Release, new ReleaseRequest { Handle = handle }, out ReleaseResponse? _, out _);
    }

    /// <summary>
    /// Queues <paramref name="handle"/> to be given back with the next batch (sent before a later
    /// request once <see cref="ReleaseBatch"/> are queued): for finalizers, which must not block on
    /// the connection. The handle must not be used afterwards.
    /// </summary>
    public void ReleaseLater(ulong handle)
    {
        _pendingRelease.Enqueue(handle);
        Interlocked.Increment(ref _pendingReleaseCount);
    }

    /// <summary>How many handles <see cref="ReleaseLater"/> queued that were not sent yet.</summary>
    public int PendingReleases => Volatile.Read(ref _pendingReleaseCount);

    /// <summary>Sends the handles queued by <see cref="ReleaseLater"/> now (one round trip if any).</summary>
    public void FlushReleases()
    {
        lock (_lock)
        {
            SendPendingReleases();
        }
    }

    /// <summary>True when the mount holding <paramref name="handle"/> is read-only (writes give EROFS).</summary>
    public bool IsReadOnly(ulong handle)
    {
        lock (_lock)
        {
            return _readOnly.TryGetValue(handle, out bool readOnly) && readOnly;
        }
    }

    /// <summary>Closes the socket; the gofer then exits. Later calls return -EIO.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _broken = true;
            if (_fd >= 0)
            {
                // shutdown first: the gofer must see the end even if a forked child still holds a copy of the fd.
                LibC.shutdown(_fd, LibC.SHUT_RDWR);
                FileDescriptor.Close(_fd);
                _fd = -1;
            }
        }
    }

    private int TakeNode(int r, WireNode? node, out ulong handle, out GoferStat stat)
    {
        if (r < 0 || node is null)
        {
            handle = 0;
            stat = default;
            return r < 0 ? r : -Errno.EIO;
        }
        handle = node.Handle;
        stat = WireConversions.ToStat(node.Stat);
        lock (_lock)
        {
            _readOnly[handle] = node.ReadOnly;
        }
        return 0;
    }

    /// <summary>
    /// One round trip: sends <paramref name="request"/>, waits for the matching answer, and returns
    /// -errno of the answer (0 on success). <paramref name="fd"/> is a donated fd of a successful
    /// answer, else -1.
    /// </summary>
    private int Call<TRequest, TResponse>(Operation op, TRequest request, out TResponse? response, out int fd)
        where TResponse : class, IResponse
    {
        lock (_lock)
        {
            if (_pendingReleaseCount >= ReleaseBatch && op != Operation.Release)
            {
                SendPendingReleases();
            }
            return CallLocked(op, request, out response, out fd);
        }
    }

    /// <summary>Sends every handle queued by <see cref="ReleaseLater"/> in one Release request. Precondition: _lock is held.</summary>
    private void SendPendingReleases()
    {
        var handles = new List<ulong>();
        while (_pendingRelease.TryDequeue(out ulong handle))
        {
            Interlocked.Decrement(ref _pendingReleaseCount);
            _readOnly.Remove(handle);
            handles.Add(handle);
        }
        for (int start = 0; start < handles.Count; start += MaxHandlesPerRelease)
        {
            int count = Math.Min(MaxHandlesPerRelease, handles.Count - start);
            var more = new byte[(count - 1) * 8];
            for (int i = 1; i < count; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(more.AsSpan((i - 1) * 8), handles[start + i]);
            }
            CallLocked(Operation.Release, new ReleaseRequest { Handle = handles[start], More = more }, out ReleaseResponse? _, out _);
        }
    }

    /// <summary>As <see cref="Call"/>. Precondition: _lock is held.</summary>
    private int CallLocked<TRequest, TResponse>(Operation op, TRequest request, out TResponse? response, out int fd)
        where TResponse : class, IResponse
    {
        response = null;
        fd = -1;
        {
            if (_broken)
            {
                return -Errno.EIO;
            }
            uint tag = ++_tag;
            Interlocked.Increment(ref _roundTrips);
            ReadOnlyMemory<byte> packet = MessageCodec.Encode(_writer, op, tag, request, 0);
            if (packet.Length > ProtocolLimits.MaxMessageSize)
            {
                return -Errno.ENAMETOOLONG; // only names/targets/values can make a request this large
            }
            if (PacketSocket.Send(_fd, packet.Span, -1) < 0)
            {
                return Break();
            }
            Span<int> fds = stackalloc int[ProtocolLimits.MaxFdsPerMessage];
            long n = PacketSocket.Receive(_fd, _receiveBuffer, fds, out int fdCount, out bool truncated);
            if (n <= 0 || truncated || !PacketHeader.TryRead(_receiveBuffer.AsSpan(0, (int)n), out PacketHeader header)
                || header.Version != ProtocolLimits.Version || header.Op != op || header.Tag != tag
                || header.PayloadLength != n - PacketHeader.Size || header.FdCount != fdCount
                || !MessageCodec.TryDecode(_receiveBuffer.AsSpan(PacketHeader.Size, (int)n - PacketHeader.Size), out response))
            {
                PacketSocket.CloseAll(fds[..fdCount]);
                response = null;
                return Break();
            }
            if (response!.Errno != 0)
            {
                PacketSocket.CloseAll(fds[..fdCount]);
                return response.Errno > 0 ? -response.Errno : -Errno.EIO;
            }
            if (fdCount > 0)
            {
                fd = fds[0];
            }
            return 0;
        }
    }

    /// <summary>Marks the connection unusable and shuts it down. Precondition: _lock is held.</summary>
    private int Break()
    {
        if (!_broken && _fd >= 0)
        {
            LibC.shutdown(_fd, LibC.SHUT_RDWR);
        }
        _broken = true;
        return -Errno.EIO;
    }
}
