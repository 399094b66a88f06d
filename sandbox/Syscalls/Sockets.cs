using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Socket;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// Socket system calls (socket(7), unix(7)): AF_UNIX sockets are the Sentry's own; AF_INET,
/// AF_INET6 and AF_NETLINK (NETLINK_ROUTE) are host sockets in the container's network
/// namespace. Each handler documents the man-page semantics it implements. Host sockets check
/// the calling task's capabilities before the host call (<see cref="SocketPrivileges"/>).
/// </summary>
internal static partial class SocketSyscalls
{
    private const int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16;
    private const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1, SCM_CREDENTIALS = 2;
    /// <summary>SCM_MAX_FD.</summary>
    private const int MaxRights = 253;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(41, "socket", Socket, "AF_UNIX in the Sentry; AF_INET, AF_INET6, AF_NETLINK(ROUTE) as host sockets; others EAFNOSUPPORT.");
        t.Supported(42, "connect", Connect);
        t.Supported(43, "accept", Accept);
        t.Supported(44, "sendto", Sendto);
        t.Supported(45, "recvfrom", Recvfrom);
        t.Partial(46, "sendmsg", Sendmsg, "SCM_RIGHTS on AF_UNIX; other control messages are ignored.");
        t.Partial(47, "recvmsg", Recvmsg, "AF_UNIX: SCM_RIGHTS only; host (inet) sockets: the host's control messages and flags.");
        t.Supported(48, "shutdown", Shutdown);
        t.Supported(49, "bind", Bind);
        t.Supported(50, "listen", Listen);
        t.Supported(51, "getsockname", Getsockname);
        t.Supported(52, "getpeername", Getpeername);
        t.Supported(53, "socketpair", Socketpair);
        t.Partial(54, "setsockopt", Setsockopt, "AF_UNIX stores SOL_SOCKET options without effect; host sockets pass through.");
        t.Supported(55, "getsockopt", Getsockopt);
        t.Supported(288, "accept4", Accept4);
        t.Partial(299, "recvmmsg", Recvmmsg, "The timeout is ignored.");
        t.Supported(307, "sendmmsg", Sendmmsg);
    }

    private static int Sock(Task t, ulong fd, out SocketFile? s)
    {
        s = null;
        var f = t.Fds.Get((int)fd);
        if (f == null) return -Errno.EBADF;
        if (f is not SocketFile sf) return -Errno.ENOTSOCK;
        s = sf;
        return 0;
    }

    private static int ReadAddress(Task t, ulong addr, ulong len, out byte[] address)
    {
        address = Array.Empty<byte>();
        if ((long)len < 0 || len > 128) return -Errno.EINVAL;
        address = new byte[len];
        return t.Memory.CopyIn(addr, address);
    }

    /// <summary>Copies an address out to (addr, *addrlen): truncated to the caller's length, *addrlen set to the full length.</summary>
    private static int WriteAddress(Task t, ulong addr, ulong lenAddr, byte[] address)
    {
        if (addr == 0 || lenAddr == 0) return 0;
        int err = t.Memory.CopyInStruct(lenAddr, out int userLen);
        if (err != 0) return err;
        if (userLen < 0) return -Errno.EINVAL;
        err = t.Memory.CopyOut(addr, address.AsSpan(0, Math.Min(userLen, address.Length)));
        if (err != 0) return err;
        return t.Memory.CopyOutStruct(lenAddr, address.Length);
    }

    /// <summary>socket(2): SOCK_NONBLOCK/SOCK_CLOEXEC in type; EAFNOSUPPORT, ESOCKTNOSUPPORT, EPROTONOSUPPORT as Linux gives them.</summary>
    private static long Socket(Task t, in SyscallArguments a)
    {
        int domain = (int)a.A0, type = (int)a.A1, protocol = (int)a.A2;
        int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
        int baseType = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
        int status = (flags & SOCK_NONBLOCK) != 0 ? OpenFlags.O_NONBLOCK : 0;
        bool cloexec = (flags & SOCK_CLOEXEC) != 0;
        switch (domain)
        {
            case AF_UNIX:
                if (baseType is not (SocketFile.SOCK_STREAM or SocketFile.SOCK_DGRAM or SocketFile.SOCK_SEQPACKET))
                    return -Errno.ESOCKTNOSUPPORT;
                if (protocol != 0 && protocol != AF_UNIX) return -Errno.EPROTONOSUPPORT;
                return t.Fds.InstallNew(new UnixSocket(t, baseType, status), cloexec);
            case AF_INET:
            case AF_INET6:
            case AF_NETLINK:
                {
                    if (domain == AF_NETLINK && protocol != 0) return -Errno.EPROTONOSUPPORT;
                    int err = HostSocket.Create(t.Credentials, domain, baseType, protocol, status, out var s);
                    if (err != 0) return err;
                    return t.Fds.InstallNew(s!, cloexec);
                }
            case SocketPrivileges.AF_PACKET:
                // packet(7): CAP_NET_RAW is checked before anything else; the Sentry has no packet sockets.
                {
                    int err = SocketPrivileges.CheckCreate(t.Credentials, domain, baseType, protocol);
                    return err != 0 ? err : -Errno.EAFNOSUPPORT;
                }
            default:
                return -Errno.EAFNOSUPPORT;
        }
    }

    /// <summary>socketpair(2): AF_UNIX only (EOPNOTSUPP otherwise); the fds are removed again if sv cannot be written.</summary>
    private static long Socketpair(Task t, in SyscallArguments a)
    {
        int domain = (int)a.A0, type = (int)a.A1, protocol = (int)a.A2;
        if (domain != AF_UNIX) return domain is AF_INET or AF_INET6 ? -Errno.EOPNOTSUPP : -Errno.EAFNOSUPPORT;
        int baseType = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (baseType is not (SocketFile.SOCK_STREAM or SocketFile.SOCK_DGRAM or SocketFile.SOCK_SEQPACKET)) return -Errno.ESOCKTNOSUPPORT;
        if (protocol != 0 && protocol != AF_UNIX) return -Errno.EPROTONOSUPPORT;
        int status = (type & SOCK_NONBLOCK) != 0 ? OpenFlags.O_NONBLOCK : 0;
        bool cloexec = (type & SOCK_CLOEXEC) != 0;
        UnixSocket.Pair(t, baseType, status, out var s0, out var s1);
        int fd0 = t.Fds.InstallNew(s0, cloexec);
        if (fd0 < 0) { s1.DecRef(); return fd0; }
        int fd1 = t.Fds.InstallNew(s1, cloexec);
        if (fd1 < 0) { t.Fds.Close(fd0); return fd1; }
        Span<int> fds = stackalloc int[] { fd0, fd1 };
        int err = t.Memory.CopyOut(a.A3, System.Runtime.InteropServices.MemoryMarshal.AsBytes(fds));
        if (err != 0) { t.Fds.Close(fd0); t.Fds.Close(fd1); return err; }
        return 0;
    }

    /// <summary>bind(2).</summary>
    private static long Bind(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        err = ReadAddress(t, a.A1, a.A2, out var addr);
        return err != 0 ? err : s!.Bind(t, addr);
    }

    /// <summary>listen(2).</summary>
    private static long Listen(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        return err != 0 ? err : s!.Listen(t, (int)a.A1);
    }

    /// <summary>connect(2): blocks until connected unless O_NONBLOCK (EINPROGRESS/EAGAIN).</summary>
    private static long Connect(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        err = ReadAddress(t, a.A1, a.A2, out var addr);
        return err != 0 ? err : s!.Connect(t, addr);
    }

    private static long DoAccept(Task t, ulong fd, ulong addr, ulong lenAddr, int flags)
    {
        if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return -Errno.EINVAL;
        int err = Sock(t, fd, out var s);
        if (err != 0) return err;
        err = s!.Accept(t, s.NonBlocking, out var accepted, out var peer);
        if (err != 0) return err;
        if ((flags & SOCK_NONBLOCK) != 0) accepted!.StatusFlags |= OpenFlags.O_NONBLOCK;
        int nfd = t.Fds.InstallNew(accepted!, (flags & SOCK_CLOEXEC) != 0);
        if (nfd < 0) return nfd;
        err = WriteAddress(t, addr, lenAddr, peer);
        if (err != 0) { t.Fds.Close(nfd); return err; }
        return nfd;
    }

    /// <summary>accept(2).</summary>
    private static long Accept(Task t, in SyscallArguments a) => DoAccept(t, a.A0, a.A1, a.A2, 0);

    /// <summary>accept4(2): SOCK_NONBLOCK and SOCK_CLOEXEC for the new fd.</summary>
    private static long Accept4(Task t, in SyscallArguments a) => DoAccept(t, a.A0, a.A1, a.A2, (int)a.A3);

    /// <summary>getsockname(2).</summary>
    private static long Getsockname(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        err = s!.GetSockName(out var addr);
        return err != 0 ? err : WriteAddress(t, a.A1, a.A2, addr);
    }

    /// <summary>getpeername(2): ENOTCONN if not connected.</summary>
    private static long Getpeername(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        err = s!.GetPeerName(out var addr);
        return err != 0 ? err : WriteAddress(t, a.A1, a.A2, addr);
    }

    /// <summary>shutdown(2).</summary>
    private static long Shutdown(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        return err != 0 ? err : s!.Shutdown(t, (int)a.A1);
    }

    /// <summary>setsockopt(2): optlen up to 4096 (EINVAL above).</summary>
    private static long Setsockopt(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        int len = (int)a.A4;
        if (len < 0 || len > 4096) return -Errno.EINVAL;
        var v = new byte[len];
        err = t.Memory.CopyIn(a.A3, v);
        return err != 0 ? err : s!.SetOption(t, (int)a.A1, (int)a.A2, v);
    }

    /// <summary>getsockopt(2): value truncated to *optlen, which is set to the length written.</summary>
    private static long Getsockopt(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        err = t.Memory.CopyInStruct(a.A4, out int len);
        if (err != 0) return err;
        if (len < 0) return -Errno.EINVAL;
        err = s!.GetOption(t, (int)a.A1, (int)a.A2, out var v);
        if (err != 0) return err;
        int n = Math.Min(len, v.Length);
        err = t.Memory.CopyOut(a.A3, v.AsSpan(0, n));
        return err != 0 ? err : t.Memory.CopyOutStruct(a.A4, n);
    }

    // ---- data ------------------------------------------------------------------------------------

    private static long DoSend(Task t, SocketFile s, byte[] data, byte[]? address, List<FileDescription>? rights, int flags)
    {
        if (rights != null && s is not UnixSocket) { foreach (var f in rights) f.DecRef(); rights = null; }
        var msg = new SocketMessage { Address = address, Rights = rights };
        long n = s.Send(t, data, msg, flags);
        if (n < 0 && rights != null) foreach (var f in rights) f.DecRef();
        return n;
    }

    /// <summary>sendto(2): with a NULL address as send(2); MSG_DONTWAIT, MSG_NOSIGNAL (no SIGPIPE on EPIPE).</summary>
    private static long Sendto(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        if ((long)a.A2 < 0) return -Errno.EINVAL;
        var data = new byte[Math.Min((long)a.A2, 1 << 22)];
        err = t.Memory.CopyIn(a.A1, data);
        if (err != 0) return err;
        byte[]? addr = null;
        if (a.A4 != 0)
        {
            err = ReadAddress(t, a.A4, a.A5, out addr);
            if (err != 0) return err;
        }
        return DoSend(t, s!, data, addr, null, (int)a.A3);
    }

    /// <summary>recvfrom(2): the source address is copied out when asked for.</summary>
    private static long Recvfrom(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        if ((long)a.A2 < 0) return -Errno.EINVAL;
        var buf = new byte[Math.Min((long)a.A2, 1 << 22)];
        var result = new SocketMessage();
        long n = s!.Receive(t, buf, result, (int)a.A3);
        if (n < 0) return n;
        DropRights(result);
        err = t.Memory.CopyOut(a.A1, buf.AsSpan(0, (int)Math.Min(n, buf.Length)));
        if (err != 0) return err;
        if (a.A4 != 0 && result.Address != null)
        {
            err = WriteAddress(t, a.A4, a.A5, result.Address);
            if (err != 0) return err;
        }
        return n;
    }

    private static void DropRights(SocketMessage m)
    {
        if (m.Rights == null) return;
        foreach (var f in m.Rights) f.DecRef();
        m.Rights = null;
    }

    /// <summary>struct msghdr as read from the application.</summary>
    private readonly record struct MsgHdr(ulong Name, int NameLen, ulong Iov, long IovLen, ulong Control, long ControlLen, int Flags);

    private static int ReadMsgHdr(Task t, ulong addr, out MsgHdr h)
    {
        h = default;
        var b = new byte[56];
        int err = t.Memory.CopyIn(addr, b);
        if (err != 0) return err;
        h = new MsgHdr(BitConverter.ToUInt64(b, 0), BitConverter.ToInt32(b, 8), BitConverter.ToUInt64(b, 16), BitConverter.ToInt64(b, 24),
            BitConverter.ToUInt64(b, 32), BitConverter.ToInt64(b, 40), BitConverter.ToInt32(b, 48));
        return 0;
    }

    private static long SendOne(Task t, SocketFile s, ulong msgAddr, int flags)
    {
        int err = ReadMsgHdr(t, msgAddr, out var h);
        if (err != 0) return err;
        err = FileSyscalls.ReadIovecs(t, h.Iov, h.IovLen, out var iovs, out long total);
        if (err != 0) return err;
        var data = new byte[total];
        long pos = 0;
        foreach (var (b, l) in iovs)
        {
            if (t.Memory.CopyIn(b, data.AsSpan((int)pos, (int)l)) != 0) return -Errno.EFAULT;
            pos += l;
        }
        byte[]? addr = null;
        if (h.Name != 0 && h.NameLen > 0)
        {
            err = ReadAddress(t, h.Name, (ulong)h.NameLen, out addr);
            if (err != 0) return err;
        }
        List<FileDescription>? rights = null;
        if (s is HostSocket && h.Control != 0 && h.ControlLen > 0)
        {
            // A host socket's control messages go to the host kernel as they are (its checks apply).
            if (h.ControlLen > 1 << 16) return -Errno.ENOBUFS;
            var raw = new byte[h.ControlLen];
            if (t.Memory.CopyIn(h.Control, raw) != 0) return -Errno.EFAULT;
            var message = new SocketMessage { Address = addr, Control = raw };
            return s.Send(t, data, message, flags);
        }
        if (h.Control != 0 && h.ControlLen > 0)
        {
            if (h.ControlLen > 1 << 16) return -Errno.ENOBUFS;
            var c = new byte[h.ControlLen];
            err = t.Memory.CopyIn(h.Control, c);
            if (err != 0) return err;
            for (int off = 0; off + 16 <= c.Length;)
            {
                long len = BitConverter.ToInt64(c, off);
                int level = BitConverter.ToInt32(c, off + 8), type = BitConverter.ToInt32(c, off + 12);
                if (len < 16 || off + len > c.Length) { DropList(rights); return -Errno.EINVAL; }
                if (level == SOL_SOCKET && type == SCM_RIGHTS)
                {
                    int count = (int)(len - 16) / 4;
                    if ((rights?.Count ?? 0) + count > MaxRights) { DropList(rights); return -Errno.EINVAL; }
                    for (int i = 0; i < count; i++)
                    {
                        int fd = BitConverter.ToInt32(c, off + 16 + i * 4);
                        var f = t.Fds.Get(fd);
                        if (f == null) { DropList(rights); return -Errno.EBADF; }
                        f.IncRef();
                        (rights ??= new()).Add(f);
                    }
                }
                off += (int)((len + 7) & ~7);
            }
        }
        return DoSend(t, s, data, addr, rights, flags);
    }

    private static void DropList(List<FileDescription>? l)
    {
        if (l != null) foreach (var f in l) f.DecRef();
    }

    private static long ReceiveOne(Task t, SocketFile s, ulong msgAddr, int flags)
    {
        int err = ReadMsgHdr(t, msgAddr, out var h);
        if (err != 0) return err;
        err = FileSyscalls.ReadIovecs(t, h.Iov, h.IovLen, out var iovs, out long total);
        if (err != 0) return err;
        var buf = new byte[total];
        var result = new SocketMessage { ControlCapacity = h.Control == 0 ? 0 : (int)Math.Min(h.ControlLen, 1 << 16) };
        long n = s.Receive(t, buf, result, flags);
        if (n < 0) return n;
        long pos = 0, left = Math.Min(n, total);
        foreach (var (b, l) in iovs)
        {
            if (left <= 0) break;
            int c = (int)Math.Min(l, left);
            if (t.Memory.CopyOut(b, buf.AsSpan((int)pos, c)) != 0) { DropRights(result); return -Errno.EFAULT; }
            pos += c;
            left -= c;
        }
        int outFlags = result.Flags;
        long controlUsed = 0;
        if (result.Control is { Length: > 0 } control)
        {
            if (t.Memory.CopyOut(h.Control, control) != 0) return -Errno.EFAULT;
            controlUsed = control.Length;
        }
        // Control messages: SCM_RIGHTS, installed as new fds.
        if (result.Rights is { Count: > 0 } rights)
        {
            int room = h.Control == 0 ? 0 : (int)Math.Max(0, (h.ControlLen - 16) / 4);
            int take = Math.Min(room, rights.Count);
            if (take < rights.Count) outFlags |= SocketFile.MSG_CTRUNC;
            if (take > 0)
            {
                var c = new byte[16 + take * 4];
                BitConverter.TryWriteBytes(c.AsSpan(0), (long)c.Length);
                BitConverter.TryWriteBytes(c.AsSpan(8), SOL_SOCKET);
                BitConverter.TryWriteBytes(c.AsSpan(12), SCM_RIGHTS);
                int installed = 0;
                for (int i = 0; i < take; i++)
                {
                    int fd = t.Fds.Install(rights[i], (flags & SocketFile.MSG_CMSG_CLOEXEC) != 0);
                    if (fd < 0) { outFlags |= SocketFile.MSG_CTRUNC; break; }
                    BitConverter.TryWriteBytes(c.AsSpan(16 + i * 4), fd);
                    installed++;
                }
                if (installed > 0)
                {
                    BitConverter.TryWriteBytes(c.AsSpan(0), (long)(16 + installed * 4));
                    t.Memory.CopyOut(h.Control, c.AsSpan(0, 16 + installed * 4));
                    controlUsed = (16 + installed * 4 + 7) & ~7;
                    controlUsed = Math.Min(controlUsed, h.ControlLen);
                }
            }
            DropRights(result);
        }
        // Write back msg_namelen, msg_controllen and msg_flags.
        if (h.Name != 0 && result.Address != null)
        {
            int nl = Math.Min(h.NameLen, result.Address.Length);
            if (nl > 0) t.Memory.CopyOut(h.Name, result.Address.AsSpan(0, nl));
            t.Memory.CopyOutStruct(msgAddr + 8, result.Address.Length);
        }
        else t.Memory.CopyOutStruct(msgAddr + 8, 0);
        t.Memory.CopyOutStruct(msgAddr + 40, controlUsed);
        t.Memory.CopyOutStruct(msgAddr + 48, outFlags);
        return n;
    }

    /// <summary>sendmsg(2): iovecs, destination address, SCM_RIGHTS (at most 253 fds; EBADF for a bad one).</summary>
    private static long Sendmsg(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        return err != 0 ? err : SendOne(t, s!, a.A1, (int)a.A2);
    }

    /// <summary>recvmsg(2): SCM_RIGHTS installs the passed files (MSG_CMSG_CLOEXEC honoured; MSG_CTRUNC when they do not fit).</summary>
    private static long Recvmsg(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        return err != 0 ? err : ReceiveOne(t, s!, a.A1, (int)a.A2);
    }

    /// <summary>sendmmsg(2): struct mmsghdr {msghdr; unsigned msg_len}; returns the number sent.</summary>
    private static long Sendmmsg(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        int vlen = (int)Math.Min(a.A2, 1024);
        int done = 0;
        for (; done < vlen; done++)
        {
            ulong m = a.A1 + (ulong)(done * 64);
            long n = SendOne(t, s!, m, (int)a.A3);
            if (n < 0) return done > 0 ? done : n;
            t.Memory.CopyOutStruct(m + 56, (uint)n);
        }
        return done;
    }

    /// <summary>recvmmsg(2): receives up to vlen messages; MSG_WAITFORONE makes later ones non-blocking.</summary>
    private static long Recvmmsg(Task t, in SyscallArguments a)
    {
        int err = Sock(t, a.A0, out var s);
        if (err != 0) return err;
        int vlen = (int)Math.Min(a.A2, 1024);
        int flags = (int)a.A3;
        int done = 0;
        for (; done < vlen; done++)
        {
            ulong m = a.A1 + (ulong)(done * 64);
            int f = flags;
            if (done > 0 && (flags & 0x10000) != 0) f |= SocketFile.MSG_DONTWAIT; // MSG_WAITFORONE
            long n = ReceiveOne(t, s!, m, f & ~0x10000);
            if (n < 0) return done > 0 ? done : n;
            t.Memory.CopyOutStruct(m + 56, (uint)n);
        }
        return done;
    }
}
