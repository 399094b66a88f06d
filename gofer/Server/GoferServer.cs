using System.Buffers;
using System.Globalization;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using RunscNet.Gofer.Server;

namespace RunscNet.Gofer;

/// <summary>
/// Serves the gofer protocol on one SOCK_SEQPACKET socket for one tree. Every handle is an
/// <c>O_PATH|O_NOFOLLOW</c> fd the server holds; every request resolves exactly one component
/// relative to a held directory, so no request reaches outside the tree, and symlinks are never
/// followed. Writes are refused with EROFS on read-only mounts (or everywhere with
/// <see cref="GoferServerOptions.ReadOnly"/>). Malformed, oversized or out-of-order messages and
/// unknown handles get error answers. <see cref="Serve"/> returns when the peer closes.
/// Runs on one thread; in-process use (tests) needs no namespaces.
/// </summary>
internal sealed partial class GoferServer : IDisposable
{
    /// <summary>Serialises the process-wide cwd changes that bind/connect of unix sockets need.</summary>
    private static readonly object CwdLock = new();

    private readonly FileDescriptor _socket;
    private readonly FileDescriptor _rootFd;
    private readonly FileDescriptor _procFd;
    private readonly FileDescriptor _cwdFd;
    private readonly bool _readOnly;

    /// <summary>
    /// True when "/proc/self/fd/N" works as a path (a real procfs is mounted at /proc, as in
    /// tests); bind/connect then need no cwd change. False in the pivoted gofer, whose /proc (if
    /// any) belongs to the container and must not be trusted.
    /// </summary>
    private readonly bool _procPaths;
    private readonly HostUnixSockets _hostUds;
    private readonly Action<string>? _log;
    private readonly Action? _onFirstIdle;
    private readonly int _idleAfterMs;
    private readonly HandleTable _handles;
    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private readonly byte[] _receiveBuffer = new byte[ProtocolLimits.MaxMessageSize];
    private bool _handshakeDone;
    private bool _disposed;

    /// <summary>The fd a handler donates with its answer (closed after sending), or null.</summary>
    private FileDescriptor? _donated;

    /// <summary>
    /// Serves <paramref name="rootFd"/> (a directory fd, any open mode) on <paramref name="socketFd"/>.
    /// Takes ownership of both.
    /// </summary>
    public GoferServer(int socketFd, int rootFd, GoferServerOptions? options = null)
    {
        options ??= new GoferServerOptions();
        _socket = new FileDescriptor(socketFd);
        _rootFd = new FileDescriptor(rootFd);
        _readOnly = options.ReadOnly;
        _hostUds = options.HostUds;
        _log = options.Log;
        _onFirstIdle = options.OnFirstIdle;
        _idleAfterMs = (int)options.IdleAfter.TotalMilliseconds;
        _handles = new HandleTable(options.MaxOpenHandles > 0 ? options.MaxOpenHandles : HandleTable.CapacityFor(Files.OpenFileLimit()));
        _procFd = new FileDescriptor(options.ProcSelfFdDirectory >= 0
            ? options.ProcSelfFdDirectory
            : Files.OpenAt(PathConsts.AT_FDCWD, "/proc/self/fd", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0));
        _cwdFd = new FileDescriptor(Files.OpenAt(PathConsts.AT_FDCWD, ".", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0));
        _procPaths = options.ProcSelfFdDirectory < 0 && IsProcFs("/proc/self/fd");
        if (_procFd.IsInvalid)
        {
            throw new IOException("gofer: cannot open /proc/self/fd");
        }
    }

    /// <summary>Opens <paramref name="rootPath"/> as the tree to serve and creates a server for it.</summary>
    /// <exception cref="IOException">The directory cannot be opened.</exception>
    public static GoferServer ForDirectory(int socketFd, string rootPath, GoferServerOptions? options = null)
    {
        int fd = Files.OpenAt(PathConsts.AT_FDCWD, rootPath, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new IOException($"gofer: cannot open {rootPath}: errno {-Files.Result(fd)}");
        }
        return new GoferServer(socketFd, fd, options);
    }

    /// <summary>Number of handles currently held (for tests and diagnostics).</summary>
    public int HandleCount => _handles.Count;

    /// <summary>Number of O_PATH fds the handles keep open now (bounded by the cap, <see cref="GoferServerOptions.MaxOpenHandles"/>).</summary>
    public int OpenHandleFds => _handles.OpenFds;

    /// <summary>The cap on <see cref="OpenHandleFds"/>.</summary>
    public int OpenHandleCapacity => _handles.Capacity;

    /// <summary>
    /// Answers requests until the peer closes the socket (or a send fails), then releases every
    /// handle. Returns normally; never throws for anything a peer sends.
    /// </summary>
    public void Serve()
    {
        Span<int> fds = stackalloc int[4];
        Action? onFirstIdle = _onFirstIdle;
        while (true)
        {
            if (onFirstIdle != null && !Files.WaitReadable(_socket.Number, _idleAfterMs))
            {
                onFirstIdle();
                onFirstIdle = null;
            }
            long n = PacketSocket.Receive(_socket.Number, _receiveBuffer, fds, out int fdCount, out bool truncated);
            PacketSocket.CloseAll(fds[..fdCount]); // the Sentry never sends fds; drop any it does
            if (n == 0)
            {
                _log?.Invoke("peer closed the socket");
                break;
            }
            if (n < 0)
            {
                _log?.Invoke($"receive failed: errno {-n}");
                break;
            }
            if (!Answer(_receiveBuffer.AsSpan(0, (int)n), truncated, fdCount))
            {
                _log?.Invoke("send failed; peer gone");
                break;
            }
        }
        _handles.Clear();
    }

    /// <summary>Releases every handle and closes the socket and directories.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _handles.Clear();
        _socket.Dispose();
        _rootFd.Dispose();
        _procFd.Dispose();
        _cwdFd.Dispose();
    }

    /// <summary>Checks one packet and answers it; false when the answer could not be sent.</summary>
    private bool Answer(ReadOnlySpan<byte> packet, bool truncated, int fdCount)
    {
        if (!PacketHeader.TryRead(packet, out PacketHeader header))
        {
            return Reply(Operation.None, 0, new ErrorResponse { Errno = Errno.EBADMSG });
        }
        if (truncated)
        {
            return Reply(header.Op, header.Tag, new ErrorResponse { Errno = Errno.EMSGSIZE });
        }
        if (header.Version != ProtocolLimits.Version)
        {
            return Reply(header.Op, header.Tag, new ErrorResponse { Errno = Errno.EPROTONOSUPPORT });
        }
        if (header.PayloadLength != packet.Length - PacketHeader.Size || header.FdCount != 0 || fdCount != 0)
        {
            return Reply(header.Op, header.Tag, new ErrorResponse { Errno = Errno.EBADMSG });
        }
        if (!_handshakeDone && header.Op != Operation.Handshake)
        {
            return Reply(header.Op, header.Tag, new ErrorResponse { Errno = Errno.EPROTO });
        }
        ReadOnlySpan<byte> payload = packet[PacketHeader.Size..];
        return header.Op switch
        {
            Operation.Handshake => Dispatch<HandshakeRequest, HandshakeResponse>(header, payload, Handshake),
            Operation.Attach => Dispatch<AttachRequest, AttachResponse>(header, payload, Attach),
            Operation.Walk => Dispatch<WalkRequest, WalkResponse>(header, payload, Walk),
            Operation.Stat => Dispatch<StatRequest, StatResponse>(header, payload, Stat),
            Operation.Open => Dispatch<OpenRequest, OpenResponse>(header, payload, Open),
            Operation.Create => Dispatch<CreateRequest, CreateResponse>(header, payload, Create),
            Operation.Mkdir => Dispatch<MkdirRequest, MkdirResponse>(header, payload, Mkdir),
            Operation.Mknod => Dispatch<MknodRequest, MknodResponse>(header, payload, Mknod),
            Operation.Symlink => Dispatch<SymlinkRequest, SymlinkResponse>(header, payload, Symlink),
            Operation.Link => Dispatch<LinkRequest, LinkResponse>(header, payload, Link),
            Operation.Unlink => Dispatch<UnlinkRequest, UnlinkResponse>(header, payload, Unlink),
            Operation.Rename => Dispatch<RenameRequest, RenameResponse>(header, payload, Rename),
            Operation.Readlink => Dispatch<ReadlinkRequest, ReadlinkResponse>(header, payload, Readlink),
            Operation.SetAttr => Dispatch<SetAttrRequest, SetAttrResponse>(header, payload, SetAttr),
            Operation.GetDents => Dispatch<GetDentsRequest, GetDentsResponse>(header, payload, GetDents),
            Operation.StatFs => Dispatch<StatFsRequest, StatFsResponse>(header, payload, StatFs),
            Operation.GetXattr => Dispatch<GetXattrRequest, GetXattrResponse>(header, payload, GetXattr),
            Operation.SetXattr => Dispatch<SetXattrRequest, SetXattrResponse>(header, payload, SetXattr),
            Operation.ListXattr => Dispatch<ListXattrRequest, ListXattrResponse>(header, payload, ListXattr),
            Operation.RemoveXattr => Dispatch<RemoveXattrRequest, RemoveXattrResponse>(header, payload, RemoveXattr),
            Operation.Fsync => Dispatch<FsyncRequest, FsyncResponse>(header, payload, Fsync),
            Operation.BindSocket => Dispatch<BindSocketRequest, BindSocketResponse>(header, payload, BindSocket),
            Operation.ConnectSocket => Dispatch<ConnectSocketRequest, ConnectSocketResponse>(header, payload, ConnectSocket),
            Operation.Release => Dispatch<ReleaseRequest, ReleaseResponse>(header, payload, Release),
            Operation.WalkMany => Dispatch<WalkManyRequest, WalkManyResponse>(header, payload, WalkMany),
            _ => Reply(header.Op, header.Tag, new ErrorResponse { Errno = Errno.ENOSYS }),
        };
    }

    /// <summary>Decodes the request, runs <paramref name="handler"/>, and sends its answer (with any donated fd).</summary>
    private bool Dispatch<TRequest, TResponse>(in PacketHeader header, ReadOnlySpan<byte> payload, Func<TRequest, TResponse> handler)
        where TRequest : class
        where TResponse : class, IResponse, new()
    {
        if (!MessageCodec.TryDecode(payload, out TRequest? request))
        {
            return Reply(header.Op, header.Tag, new ErrorResponse { Errno = Errno.EBADMSG });
        }
        TResponse response;
        _donated = null;
        try
        {
            response = handler(request!);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A peer must never be able to take the gofer down: answer EIO and carry on.
            _log?.Invoke($"{header.Op} failed: {e.GetType().Name}: {e.Message}");
            CloseDonated();
            response = new TResponse { Errno = Errno.EIO };
        }
        if (response.Errno != 0)
        {
            CloseDonated();
        }
        // The answer carries a copy (SCM_RIGHTS); ours is closed once it is sent.
        using FileDescriptor? donated = _donated;
        _donated = null;
        return Reply(header.Op, header.Tag, response, donated?.Number ?? -1);
    }

    private void CloseDonated()
    {
        _donated?.Dispose();
        _donated = null;
    }

    /// <summary>Sends one answer; false when the peer is gone.</summary>
    private bool Reply<T>(Operation op, uint tag, T response, int fd = -1)
    {
        ReadOnlyMemory<byte> packet = MessageCodec.Encode(_writer, op, tag, response, fd >= 0 ? 1 : 0);
        int r = PacketSocket.Send(_socket.Number, packet.Span, fd);
        if (r == -Errno.EMSGSIZE)
        {
            _log?.Invoke($"{op} answer too large ({packet.Length} bytes)");
            packet = MessageCodec.Encode(_writer, op, tag, new ErrorResponse { Errno = Errno.EIO }, 0);
            r = PacketSocket.Send(_socket.Number, packet.Span, -1);
        }
        return r == 0;
    }

    private HandshakeResponse Handshake(HandshakeRequest request)
    {
        var response = new HandshakeResponse { Version = ProtocolLimits.Version, MaxMessageSize = ProtocolLimits.MaxMessageSize };
        if (request.Version != ProtocolLimits.Version)
        {
            response.Errno = Errno.EPROTONOSUPPORT;
            return response;
        }
        _handshakeDone = true;
        return response;
    }

    private ReleaseResponse Release(ReleaseRequest request)
    {
        _handles.Release(request.Handle);
        byte[] more = request.More ?? Array.Empty<byte>();
        for (int i = 0; i + 8 <= more.Length; i += 8)
        {
            _handles.Release(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(more.AsSpan(i)));
        }
        return new ReleaseResponse();
    }

    private static unsafe bool IsProcFs(string path)
    {
        using var fd = new FileDescriptor(Files.OpenAt(PathConsts.AT_FDCWD, path, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0));
        if (fd.IsInvalid)
        {
            return false;
        }
        StatFsBuffer fs;
        return Files.FStatFs(fd.Number, &fs) == 0 && fs.Type == Mounts.ProcSuperMagic;
    }

    /// <summary>The name of <paramref name="fd"/> inside /proc/self/fd.</summary>
    private static string FdName(int fd) => fd.ToString(CultureInfo.InvariantCulture);
}
