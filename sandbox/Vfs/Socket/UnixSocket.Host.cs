using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Gofer;

namespace RunscNet.Sentry.Vfs.Socket;

// A unix socket connected to a socket on the host (runsc's --host-uds open). connect(2) to a
// socket file of a gofer mount that no sandbox socket is bound to asks the gofer to connect (the
// gofer holds the file; the Sentry opens no host path); the connected host fd it hands back then
// carries this socket's data, shutdown, buffer options and readiness. Without --host-uds open,
// or when the gofer refuses, connect fails with ECONNREFUSED, as in runsc. What the host would
// reveal stays hidden: the peer's host path (getpeername and recvmsg give the path the
// application connected to), host credentials (SO_PEERCRED is the sandbox's own answer) and
// host fds (SCM_RIGHTS are neither sent, EOPNOTSUPP, nor received: the host kernel discards
// them and reports MSG_CTRUNC).
internal sealed partial class UnixSocket
{
    private HostSocket? _host;
    private byte[]? _hostPeerAddress;

    /// <summary>Connects to the host socket behind <paramref name="file"/> through the gofer.</summary>
    private int ConnectHost(GoferInode file, byte[] address)
    {
        lock (s_lock)
        {
            if (_connected) return -Errno.EISCONN;
            if (_listening) return -Errno.EINVAL;
        }
        if (file.ConnectHostSocket(_type, out int fd) != 0) return -Errno.ECONNREFUSED;
        HostSocket? host = HostSocket.FromHostFd(fd);
        if (host == null)
        {
            FileDescriptor.Close(fd);
            return -Errno.ECONNREFUSED;
        }
        lock (s_lock)
        {
            if (_connected || _host != null || _closed)
            {
                host.DecRef();
                return _closed ? -Errno.EBADF : -Errno.EISCONN;
            }
            _host = host;
            _hostPeerAddress = address;
            _connected = true;
        }
        Queue.Notify();
        return 0;
    }

    private static long SendHost(Task task, HostSocket host, ReadOnlySpan<byte> data, SocketMessage message, int flags)
    {
        if (message.Rights is { Count: > 0 }) return -Errno.EOPNOTSUPP;
        // A destination address would be looked up in the Sentry's own tree: connected sockets only.
        if (message.Address is { Length: > 0 }) return -Errno.EISCONN;
        return host.Send(task, data, new SocketMessage(), flags);
    }

    private long ReceiveHost(Task task, HostSocket host, Span<byte> buffer, SocketMessage result, int flags)
    {
        var received = new SocketMessage { ControlCapacity = 0 };
        long r = host.Receive(task, buffer, received, flags);
        if (r < 0) return r;
        result.Flags |= received.Flags;
        result.Address = _hostPeerAddress;
        return r;
    }

    /// <summary>Socket options answered by the host socket: SO_ERROR, and the buffer sizes.</summary>
    private static bool IsHostOption(int level, int name, bool set) =>
        level == 1 && (name is 7 or 8 || (!set && name == 4));

    private void ReleaseHost()
    {
        HostSocket? host;
        lock (s_lock)
        {
            host = _host;
            _host = null;
        }
        host?.DecRef();
    }
}
