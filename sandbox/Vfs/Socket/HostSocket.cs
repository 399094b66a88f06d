using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs.Host;
using Tmds.Linux;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// An AF_INET/AF_INET6 socket the Sentry holds on the host, in the container's network
/// namespace (the boot process lives there), for --network=sandbox/host/none alike. The host fd
/// is non-blocking; the application's blocking calls wait on the <see cref="HostFdPoller"/>
/// queue, so signals interrupt them. SCM_RIGHTS is not carried over host sockets.
/// The host checks privileges against the Sentry's capabilities, so every call that needs one
/// is first checked against the calling task's (<see cref="SocketPrivileges"/>); pointers inside
/// option values are never handed to the host as they are (they would be read or written in the
/// Sentry's memory).
/// </summary>
internal sealed partial class HostSocket : SocketFile
{
    private int _fd;
    private readonly int _family, _type, _protocol;
    private readonly WaitQueue? _queue;

    private HostSocket(int fd, int family, int type, int protocol, int flags, Credentials? opener)
    {
        _fd = fd;
        _family = family;
        _type = type;
        _protocol = protocol;
        Opener = opener;
        StatusFlags = OpenFlags.O_RDWR | flags;
        _queue = HostFdPoller.Instance.QueueFor(fd);
    }

    /// <summary>
    /// The credentials of the task that opened the socket (the file's credentials, which
    /// netlink_net_capable checks besides the caller's); null for a socket the sandbox was given.
    /// </summary>
    public Credentials? Opener { get; }

    /// <summary>This socket is its namespace's multicast router socket (MRT_INIT/MRT6_INIT succeeded on it).</summary>
    public bool MulticastRouter { get; private set; }

    /// <summary>
    /// socket(2) on the host for <paramref name="opener"/>; returns 0 and the socket (one
    /// reference) or -errno. The task's capabilities are checked first (raw, packet, ping).
    /// </summary>
    public static int Create(Credentials opener, int family, int type, int protocol, int flags, out HostSocket? socket)
    {
        socket = null;
        int err = SocketPrivileges.CheckCreate(opener, family, type, protocol);
        if (err != 0) return err;
        int fd = HostSockets.socket(family, type | 0x800 /* SOCK_NONBLOCK */ | 0x80000 /* SOCK_CLOEXEC */, protocol);
        if (fd < 0) return HostFiles.Neg();
        socket = new HostSocket(fd, family, type, protocol, flags, opener);
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
        return new HostSocket(fd, family, type, Math.Max(protocol, 0), 0, null);
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
            if (task.Block(() => (HostFdPoller.PollNow(_fd, events) & (events | PollEvents.POLLERR | PollEvents.POLLHUP)) != 0
                    || ((events & PollEvents.POLLIN) != 0 && HasNetlinkReplies), _queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <inheritdoc/>
    public override unsafe int Bind(Task task, byte[] address)
    {
        if (_reset) return -Errno.EINVAL;
        if (_family == SocketPrivileges.AF_NETLINK && address.Length >= 12 && BitConverter.ToUInt16(address, 0) == SocketPrivileges.AF_NETLINK
            && SocketPrivileges.NetlinkGroupMaskNeedsAdmin(BitConverter.ToUInt32(address, 8))
            && !task.Credentials.HasCapability(SocketPrivileges.CAP_NET_ADMIN))
            return -Errno.EPERM;
        if (SocketPrivileges.PrivilegedPort(_family, _type, _protocol, address) != 0 && !SocketPrivileges.MayBindService(task.Credentials))
            return RefusedBind(address);
        fixed (byte* a = address) return HostSockets.bind(_fd, a, address.Length) < 0 ? HostFiles.Neg() : 0;
    }

    /// <summary>
    /// The errno of a bind to a privileged port without CAP_NET_BIND_SERVICE: EACCES, unless
    /// Linux would fail it earlier (the address is not local: EADDRNOTAVAIL; a wrong family),
    /// which a bind of the same address to port 0 on a scratch socket of the same kind tells.
    /// </summary>
    private unsafe int RefusedBind(byte[] address)
    {
        int probe = HostSockets.socket(_family, _type | 0x80000, _protocol);
        if (probe < 0) return -Errno.EACCES;
        try
        {
            // The options that make a non-local address bindable, as set on the real socket.
            foreach (var (level, name) in new[] { (0, 15 /* IP_FREEBIND */), (0, 19 /* IP_TRANSPARENT */), (41, 26 /* IPV6_V6ONLY */) })
            {
                if (level == 41 && _family != SocketPrivileges.AF_INET6) continue;
                int v = 0, len = sizeof(int);
                if (HostSockets.getsockopt(_fd, level, name, (byte*)&v, &len) == 0 && v != 0)
                    HostSockets.setsockopt(probe, level, name, (byte*)&v, sizeof(int));
            }
            byte[] anyPort = (byte[])address.Clone();
            anyPort[2] = anyPort[3] = 0;
            int r;
            fixed (byte* a = anyPort) r = HostSockets.bind(probe, a, anyPort.Length);
            if (r < 0)
            {
                int e = HostFiles.Neg();
                if (e is -Errno.EADDRNOTAVAIL or -Errno.EAFNOSUPPORT or -Errno.EINVAL) return e;
            }
            return -Errno.EACCES;
        }
        finally
        {
            FileDescriptor.Close(probe);
        }
    }

    /// <inheritdoc/>
    public override int Listen(Task task, int backlog)
    {
        if (_reset) return -Errno.EINVAL;
        if (HostSockets.listen(_fd, backlog) < 0) return HostFiles.Neg();
        _backlog = backlog;   // for checkpoint: the host cannot tell it back
        return 0;
    }

    /// <inheritdoc/>
    public override unsafe int Accept(Task task, bool nonBlocking, out SocketFile? accepted, out byte[] peer)
    {
        accepted = null;
        if (_reset)
        {
            peer = [];
            return -Errno.EINVAL;
        }
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
        accepted = new HostSocket((int)r, _family, _type, _protocol, 0, task.Credentials);
        return 0;
    }

    /// <inheritdoc/>
    public override unsafe int Connect(Task task, byte[] address)
    {
        if (_reset) return -Errno.EISCONN;
        if (_family == SocketPrivileges.AF_NETLINK)
        {
            int denied = NetlinkConnectCheck(task, address);
            if (denied != 0) return denied;
        }
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
        if (_reset && _resetLocal.Length > 0)
        {
            address = (byte[])_resetLocal.Clone();
            return 0;
        }
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
        if (_reset) return ResetSend(task, flags);
        bool nb = NonBlocking || (flags & MSG_DONTWAIT) != 0;
        byte[] copy = data.ToArray();
        byte[]? addr = message.Address;
        if (message.Control is { } ctl)
        {
            int err = SocketPrivileges.CheckControl(task.Credentials, _family, ctl);
            if (err == 0 && _family == SocketPrivileges.AF_NETLINK) err = SocketPrivileges.CheckCredentials(task.Credentials, task.ThreadGroup.Tgid, ctl);
            if (err != 0) return err;
        }
        if (_family == SocketPrivileges.AF_NETLINK)
        {
            long filtered = FilterNetlinkSend(task, ref copy, addr);
            if (filtered != 0) return filtered;   // an error, or every message answered by the Sentry
        }
        int hostFlags = (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) | MSG_DONTWAIT | MSG_NOSIGNAL;
        byte[]? control = message.Control;
        long r = Blocking(task, nb, PollEvents.POLLOUT, () =>
        {
            fixed (byte* p = copy)
            fixed (byte* a = addr)
            fixed (byte* c = control)
            {
                if (control == null) return HostSockets.sendto(_fd, p, copy.Length, hostFlags, a, addr?.Length ?? 0);
                var iov = new iovec { iov_base = p, iov_len = copy.Length };
                var h = new msghdr { msg_name = a, msg_namelen = addr?.Length ?? 0, msg_iov = &iov, msg_iovlen = 1, msg_control = c, msg_controllen = control.Length };
                return HostSockets.sendmsg(_fd, &h, hostFlags);
            }
        });
        if (r == -Errno.EPIPE && (flags & MSG_NOSIGNAL) == 0) BrokenPipe(task);
        // A netlink datagram is taken whole, including the requests the Sentry answered itself.
        if (r >= 0 && _family == SocketPrivileges.AF_NETLINK) r = data.Length;
        return r;
    }

    /// <inheritdoc/>
    public override unsafe long Receive(Task task, Span<byte> buffer, SocketMessage result, int flags)
    {
        if (_reset) return ResetReceive();
        bool nb = NonBlocking || (flags & MSG_DONTWAIT) != 0;
        var tmp = new byte[buffer.Length];
        var addr = new byte[128];
        var control = new byte[Math.Clamp(result.ControlCapacity, 0, 1 << 16)];
        int alen = 0, outFlags = 0;
        ulong clen = 0;
        int hostFlags = (flags & ~(MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) | MSG_DONTWAIT;
        byte[] buf = tmp;
        // recvmsg on the host: msg_flags (MSG_TRUNC, MSG_CTRUNC, MSG_EOR...) and the control
        // messages the host produced (same layout: the host is the application's architecture).
        long r = Blocking(task, nb, PollEvents.POLLIN, () =>
        {
            // Answers the Sentry made itself (refused rtnetlink requests) come first.
            if (TakeNetlinkReply(buf, flags, out int full))
            {
                alen = 12;
                addr.AsSpan(0, 12).Clear();
                addr[0] = SocketPrivileges.AF_NETLINK;
                clen = 0;
                outFlags = full > buf.Length ? MSG_TRUNC : 0;
                return (flags & MSG_TRUNC) != 0 ? full : Math.Min(full, buf.Length);
            }
            fixed (byte* p = tmp)
            fixed (byte* a = addr)
            fixed (byte* c = control)
            {
                var iov = new iovec { iov_base = p, iov_len = tmp.Length };
                var h = new msghdr { msg_name = a, msg_namelen = addr.Length, msg_iov = &iov, msg_iovlen = 1, msg_control = control.Length > 0 ? c : null, msg_controllen = control.Length };
                nint n = HostSockets.recvmsg(_fd, &h, hostFlags);
                alen = (int)(uint)h.msg_namelen;
                clen = (uint)h.msg_controllen;
                outFlags = h.msg_flags;
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
        int err = SocketPrivileges.CheckSetOption(task.Credentials, this, level, name, value, IntOptionNow);
        if (err != 0) return err;
        if (level == SocketPrivileges.SOL_SOCKET)
        {
            switch (name)
            {
                case 26: case 51:   // SO_ATTACH_FILTER, SO_ATTACH_REUSEPORT_CBPF: the program is behind a pointer
                    return AttachClassicFilter(task, name, value);
                case 50: case 52:   // SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_EBPF: an fd, which no task has for a BPF program
                    return value.Length < 4 ? -Errno.EINVAL : task.Fds.Get(BitConverter.ToInt32(value, 0)) == null ? -Errno.EBADF : -Errno.EINVAL;
            }
        }
        int r;
        fixed (byte* v = value) r = HostSockets.setsockopt(_fd, level, name, v, value.Length);
        if (r < 0 && level == SocketPrivileges.SOL_SOCKET && name is 32 or 33 && Marshal.GetLastPInvokeError() == Errno.EPERM)
        {
            // SO_SNDBUFFORCE/SO_RCVBUFFORCE need CAP_NET_ADMIN in the host's initial user
            // namespace, which the Sentry never holds: the task was allowed above, so set the
            // plain size (capped at the host's wmem_max/rmem_max) instead.
            fixed (byte* v = value) r = HostSockets.setsockopt(_fd, level, name == 32 ? 7 : 8, v, value.Length);
        }
        if (r < 0) return HostFiles.Neg();
        // MRT_INIT/MRT6_INIT (200) make this the router socket, MRT_DONE (201) ends that.
        if (name is 200 or 201 && level is SocketPrivileges.SOL_IP or SocketPrivileges.SOL_IPV6 && _type == SOCK_RAW) MulticastRouter = name == 200;
        return 0;
    }

    private unsafe int IntOptionNow(int level, int name)
    {
        int v = 0, len = sizeof(int);
        return HostSockets.getsockopt(_fd, level, name, (byte*)&v, &len) == 0 ? v : 0;
    }

    /// <summary>
    /// SO_ATTACH_FILTER: struct sock_fprog {u16 len; struct sock_filter *filter} points into the
    /// task's memory; the Sentry copies the instructions in and hands the host its own copy.
    /// </summary>
    private unsafe int AttachClassicFilter(Task task, int name, byte[] value)
    {
        if (value.Length < 16) return -Errno.EINVAL;
        int count = BitConverter.ToUInt16(value, 0);
        ulong pointer = BitConverter.ToUInt64(value, 8);
        if (count == 0 || count > 4096) return -Errno.EINVAL;   // BPF_MAXINSNS
        var program = new byte[count * 8];
        if (task.Memory.CopyIn(pointer, program) != 0) return -Errno.EFAULT;
        fixed (byte* p = program)
        {
            var own = new byte[16];
            BitConverter.TryWriteBytes(own.AsSpan(0), (ushort)count);
            BitConverter.TryWriteBytes(own.AsSpan(8), (ulong)(nint)p);
            fixed (byte* o = own) return HostSockets.setsockopt(_fd, SocketPrivileges.SOL_SOCKET, name, o, own.Length) < 0 ? HostFiles.Neg() : 0;
        }
    }

    /// <inheritdoc/>
    public override unsafe int GetOption(Task task, int level, int name, out byte[] value)
    {
        if (_reset && level == SocketPrivileges.SOL_SOCKET && name == 4 /* SO_ERROR */)
        {
            value = IntOption(-TakeResetError());
            return 0;
        }
        var b = new byte[256];
        int len = b.Length;
        int r;
        fixed (byte* p = b) r = HostSockets.getsockopt(_fd, level, name, p, &len);
        value = b.AsSpan(0, Math.Min(len, b.Length)).ToArray();
        return r < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        if (_reset) return ResetReadiness(mask);
        int ready = HostFdPoller.PollNow(_fd, mask);
        if (HasNetlinkReplies) ready |= PollEvents.POLLIN;
        return (short)(ready & (mask | PollEvents.POLLERR | PollEvents.POLLHUP));
    }

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
        FileDescriptor.Close(fd);
    }
}
