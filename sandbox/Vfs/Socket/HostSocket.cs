using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Host;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// An AF_INET/AF_INET6 socket the Sentry holds on the host, in the container's network
/// namespace (the boot process lives there), for --network=sandbox/host/none alike. The host fd
/// is non-blocking; the application's blocking calls wait on the <see cref="HostFdPoller"/>
/// queue, so signals interrupt them. SCM_RIGHTS is not carried over host sockets.
/// </summary>
public sealed class HostSocket : SocketFile
{
    private int _fd;
    private readonly int _family, _type, _protocol;
    private readonly WaitQueue? _queue;

    private HostSocket(int fd, int family, int type, int protocol, int flags)
    {
        _fd = fd;
        _family = family;
        _type = type;
        _protocol = protocol;
        StatusFlags = OpenFlags.O_RDWR | flags;
        _queue = HostFdPoller.Instance.QueueFor(fd);
    }

    /// <summary>socket(2) on the host; returns 0 and the socket (one reference) or -errno.</summary>
    public static int Create(int family, int type, int protocol, int flags, out HostSocket? socket)
    {
        socket = null;
        int fd = HostSockets.socket(family, type | 0x800 /* SOCK_NONBLOCK */ | 0x80000 /* SOCK_CLOEXEC */, protocol);
        if (fd < 0) return HostFiles.Neg();
        socket = new HostSocket(fd, family, type, protocol, flags);
        return 0;
    }

    /// <summary>
    /// Wraps a socket the sandbox was given (--preserve-fds, e.g. systemd socket activation); the
    /// description owns <paramref name="fd"/>. Null if it is not a socket.
    /// </summary>
    public static unsafe HostSocket? FromHostFd(int fd)
    {
        int Option(int name)
        {
            int value = -1, len = sizeof(int);
            return HostSockets.getsockopt(fd, 1 /* SOL_SOCKET */, name, (byte*)&value, &len) == 0 ? value : -1;
        }
        int family = Option(39 /* SO_DOMAIN */), type = Option(3 /* SO_TYPE */), protocol = Option(38 /* SO_PROTOCOL */);
        if (family < 0 || type < 0) return null;
        int fl = HostFiles.fcntl(fd, 3 /* F_GETFL */, 0);
        // The Sentry waits for readiness itself: the host fd is non-blocking, as for its own sockets.
        if (fl >= 0) HostFiles.fcntl(fd, 4 /* F_SETFL */, fl | 0x800 /* O_NONBLOCK */);
        return new HostSocket(fd, family, type, Math.Max(protocol, 0), 0);
    }

    /// <inheritdoc/>
    public override int Family => _family;

    /// <inheritdoc/>
    public override int Type => _type;

    /// <inheritdoc/>
    public override int Protocol => _protocol;

    /// <summary>Retries <paramref name="op"/> while it fails with EAGAIN, waiting for <paramref name="events"/> unless non-blocking.</summary>
    private long Blocking(Task task, bool nonBlocking, short events, Func<long> op)
    {
        while (true)
        {
            long r = op();
            if (r >= 0) return r;
            int e = HostFiles.Neg();
            if (e == -Errno.EINTR) continue;
            if (e != -Errno.EAGAIN || nonBlocking || _queue == null) return e;
            if (task.Block(() => (HostFdPoller.PollNow(_fd, events) & (events | PollEvents.POLLERR | PollEvents.POLLHUP)) != 0, _queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override unsafe int Bind(Task task, byte[] address)
    {
        fixed (byte* a = address) return HostSockets.bind(_fd, a, address.Length) < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override int Listen(Task task, int backlog) => HostSockets.listen(_fd, backlog) < 0 ? HostFiles.Neg() : 0;

    /// <inheritdoc/>
    public override unsafe int Accept(Task task, bool nonBlocking, out SocketFile? accepted, out byte[] peer)
    {
        accepted = null;
        var addr = new byte[128];
        int len = addr.Length;
        long r = Blocking(task, nonBlocking, PollEvents.POLLIN, () =>
        {
            fixed (byte* a = addr)
            {
                int l = 128;
                int fd = HostSockets.accept4(_fd, a, &l, 0x800 | 0x80000);
                len = l;
                return fd;
            }
        });
        peer = addr.AsSpan(0, Math.Min(len, addr.Length)).ToArray();
        if (r < 0) return (int)r;
        accepted = new HostSocket((int)r, _family, _type, _protocol, 0);
        return 0;
    }

    /// <inheritdoc/>
    public override unsafe int Connect(Task task, byte[] address)
    {
        int r;
        fixed (byte* a = address) r = HostSockets.connect(_fd, a, address.Length);
        if (r == 0) return 0;
        int e = HostFiles.Neg();
        if (e != -Errno.EINPROGRESS || NonBlocking || _queue == null) return e;
        if (task.Block(() => HostFdPoller.PollNow(_fd, PollEvents.POLLOUT) != 0, _queue) == BlockResult.Interrupted)
            return -Errno.ERESTARTSYS;
        int err = GetOption(task, 1, 4, out var v);
        if (err != 0) return err;
        int soError = BitConverter.ToInt32(v, 0);
        return -soError;
    }

    /// <inheritdoc/>
    public override unsafe int GetSockName(out byte[] address)
    {
        var b = new byte[128];
        int len = b.Length;
        int r;
        fixed (byte* p = b) r = HostSockets.getsockname(_fd, p, &len);
        address = b.AsSpan(0, Math.Min(len, b.Length)).ToArray();
        return r < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override unsafe int GetPeerName(out byte[] address)
    {
        var b = new byte[128];
        int len = b.Length;
        int r;
        fixed (byte* p = b) r = HostSockets.getpeername(_fd, p, &len);
        address = b.AsSpan(0, Math.Min(len, b.Length)).ToArray();
        return r < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override unsafe long Send(Task task, ReadOnlySpan<byte> data, SocketMessage message, int flags)
    {
        bool nb = NonBlocking || (flags & MSG_DONTWAIT) != 0;
        byte[] copy = data.ToArray();
        byte[]? addr = message.Address;
        int hostFlags = (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) | MSG_DONTWAIT | MSG_NOSIGNAL;
        byte[]? control = message.Control;
        long r = Blocking(task, nb, PollEvents.POLLOUT, () =>
        {
            fixed (byte* p = copy)
            fixed (byte* a = addr)
            fixed (byte* c = control)
            {
                if (control == null) return HostSockets.sendto(_fd, p, copy.Length, hostFlags, a, addr?.Length ?? 0);
                var iov = new IoVec { Base = p, Len = (ulong)copy.Length };
                var h = new MsgHdr { Name = a, NameLen = addr?.Length ?? 0, Iov = &iov, IovLen = 1, Control = c, ControlLen = (ulong)control.Length };
                return HostSockets.sendmsg(_fd, &h, hostFlags);
            }
        });
        if (r == -Errno.EPIPE && (flags & MSG_NOSIGNAL) == 0) BrokenPipe(task);
        return r;
    }

    /// <inheritdoc/>
    public override unsafe long Receive(Task task, Span<byte> buffer, SocketMessage result, int flags)
    {
        bool nb = NonBlocking || (flags & MSG_DONTWAIT) != 0;
        var tmp = new byte[buffer.Length];
        var addr = new byte[128];
        var control = new byte[Math.Clamp(result.ControlCapacity, 0, 1 << 16)];
        int alen = 0, outFlags = 0;
        ulong clen = 0;
        int hostFlags = (flags & ~(MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) | MSG_DONTWAIT;
        // recvmsg on the host: msg_flags (MSG_TRUNC, MSG_CTRUNC, MSG_EOR...) and the control
        // messages the host produced (same layout: the host is the application's architecture).
        long r = Blocking(task, nb, PollEvents.POLLIN, () =>
        {
            fixed (byte* p = tmp)
            fixed (byte* a = addr)
            fixed (byte* c = control)
            {
                var iov = new IoVec { Base = p, Len = (ulong)tmp.Length };
                var h = new MsgHdr { Name = a, NameLen = addr.Length, Iov = &iov, IovLen = 1, Control = control.Length > 0 ? c : null, ControlLen = (ulong)control.Length };
                nint n = HostSockets.recvmsg(_fd, &h, hostFlags);
                alen = h.NameLen;
                clen = h.ControlLen;
                outFlags = h.Flags;
                return n;
            }
        });
        if (r < 0) return r;
        tmp.AsSpan(0, (int)Math.Min(r, tmp.Length)).CopyTo(buffer);
        result.Address = alen > 0 ? addr.AsSpan(0, Math.Min(alen, 128)).ToArray() : null;
        result.Flags |= outFlags;
        if (clen > 0) result.Control = control.AsSpan(0, (int)Math.Min(clen, (ulong)control.Length)).ToArray();
        return r;
    }

    /// <inheritdoc/>
    public override int Shutdown(Task task, int how) => HostSockets.shutdown(_fd, how) < 0 ? HostFiles.Neg() : 0;

    /// <inheritdoc/>
    public override unsafe int SetOption(Task task, int level, int name, byte[] value)
    {
        fixed (byte* v = value) return HostSockets.setsockopt(_fd, level, name, v, value.Length) < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override unsafe int GetOption(Task task, int level, int name, out byte[] value)
    {
        var b = new byte[256];
        int len = b.Length;
        int r;
        fixed (byte* p = b) r = HostSockets.getsockopt(_fd, level, name, p, &len);
        value = b.AsSpan(0, Math.Min(len, b.Length)).ToArray();
        return r < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override short Readiness(short mask)
        => (short)(HostFdPoller.PollNow(_fd, mask) & (mask | PollEvents.POLLERR | PollEvents.POLLHUP));

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => _queue;

    /// <inheritdoc/>
    public override unsafe long Ioctl(Task task, uint request, ulong argument)
    {
        switch (request)
        {
            case 0x541B: // FIONREAD
            case 0x5411: // TIOCOUTQ
                {
                    int v;
                    if (HostFiles.ioctl(_fd, request, &v) < 0) return HostFiles.Neg();
                    return Memory.MemoryIOExtensions.CopyOutStruct(task.Memory, argument, v);
                }
            default:
                return InterfaceIoctls.Handles(request) ? InterfaceIoctls.Ioctl(task, _fd, request, argument) : -Errno.ENOTTY;
        }
    }

    /// <inheritdoc/>
    public override void Release()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        if (_queue != null) HostFdPoller.Instance.Forget(fd);
        HostFiles.close(fd);
    }
}
