using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using RunscNet.Gofer.Server;
using Tmds.Linux;

namespace RunscNet.Gofer;

// Host unix sockets in the tree: bind a new one, connect to an existing one. Only with the
// runtime's --host-uds create (bind) or open (connect); otherwise EPERM, before anything is looked
// up, as runsc's gofer answers (the Sentry turns a refused connect into ECONNREFUSED).
internal sealed partial class GoferServer
{
    private unsafe BindSocketResponse BindSocket(BindSocketRequest request)
    {
        if ((_hostUds & HostUnixSockets.Create) == 0)
        {
            return new BindSocketResponse { Errno = Errno.EPERM };
        }
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? found);
        if (r < 0)
        {
            return new BindSocketResponse { Errno = -r };
        }
        Node dir = found!;
        if (!IsUnixSocketType(request.Type))
        {
            return new BindSocketResponse { Errno = Errno.EINVAL };
        }
        byte* address = stackalloc byte[110];
        int length = UnixAddress.Make(request.Name, new Span<byte>(address, 110));
        if (length < 0)
        {
            return new BindSocketResponse { Errno = -length };
        }
        using var fd = new FileDescriptor(LibC.socket(LibC.AF_UNIX, request.Type | LibC.SOCK_CLOEXEC, 0));
        if (fd.IsInvalid)
        {
            return new BindSocketResponse { Errno = -Files.Result(fd.Number) };
        }
        // bind(2) takes no directory fd: bind "/proc/self/fd/<dir>/<name>" when procfs is there,
        // else the bare name with the directory as cwd.
        int procLength = _procPaths ? UnixAddress.Make($"/proc/self/fd/{FdName(dir.Fd)}/{request.Name}", new Span<byte>(address, 110)) : -1;
        r = procLength > 0
            ? Files.Result(LibC.bind(fd.Number, (sockaddr*)address, procLength))
            : InDirectory(dir.Fd, () =>
            {
                UnixAddress.Make(request.Name, new Span<byte>(address, 110));
                return Files.Result(LibC.bind(fd.Number, (sockaddr*)address, length));
            });
        if (r == 0)
        {
            // The new socket file belongs to the gofer's own uid until given its owner.
            r = Files.Result(Files.FChownAt(dir.Fd, request.Name, request.Uid, request.Gid, PathConsts.AT_SYMLINK_NOFOLLOW));
            if (r < 0)
            {
                Files.UnlinkAt(dir.Fd, request.Name, 0);
            }
        }
        if (r < 0)
        {
            return new BindSocketResponse { Errno = -r };
        }
        _donated = new FileDescriptor(fd.Release());
        return new BindSocketResponse { HasFd = true };
    }

    private unsafe ConnectSocketResponse ConnectSocket(ConnectSocketRequest request)
    {
        if ((_hostUds & HostUnixSockets.Open) == 0)
        {
            return new ConnectSocketResponse { Errno = Errno.EPERM };
        }
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new ConnectSocketResponse { Errno = Errno.EBADF };
        }
        if (!IsUnixSocketType(request.Type))
        {
            return new ConnectSocketResponse { Errno = Errno.EINVAL };
        }
        if (node.FileType != LinuxMode.S_IFSOCK)
        {
            return new ConnectSocketResponse { Errno = Errno.ECONNREFUSED };
        }
        byte* address = stackalloc byte[110];
        int length = UnixAddress.Make((_procPaths ? "/proc/self/fd/" : "") + FdName(node.Fd), new Span<byte>(address, 110));
        using var fd = new FileDescriptor(LibC.socket(LibC.AF_UNIX, request.Type | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK, 0));
        if (fd.IsInvalid)
        {
            return new ConnectSocketResponse { Errno = -Files.Result(fd.Number) };
        }
        // connect(2) takes no directory fd: connect to the /proc/self/fd/N magic link of the held
        // socket inode (by path, or as "N" with /proc/self/fd as cwd). Non-blocking, so a full
        // backlog gives EAGAIN, not a hang.
        int r = _procPaths
            ? Files.Result(LibC.connect(fd.Number, (sockaddr*)address, length))
            : InDirectory(_procFd.Number, () => Files.Result(LibC.connect(fd.Number, (sockaddr*)address, length)));
        if (r == 0)
        {
            int flags = Files.FControl(fd.Number, Files.F_GETFL, 0);
            r = flags < 0 ? Files.Result(flags) : Files.Result(Files.FControl(fd.Number, Files.F_SETFL, flags & ~OpenFlags.O_NONBLOCK));
        }
        if (r < 0)
        {
            return new ConnectSocketResponse { Errno = -r };
        }
        _donated = new FileDescriptor(fd.Release());
        return new ConnectSocketResponse { HasFd = true };
    }

    private static bool IsUnixSocketType(int type) =>
        type == LibC.SOCK_STREAM || type == LibC.SOCK_DGRAM || type == LibC.SOCK_SEQPACKET;

    /// <summary>Runs <paramref name="action"/> with <paramref name="directoryFd"/> as the process's cwd, then restores it.</summary>
    private int InDirectory(int directoryFd, Func<int> action)
    {
        lock (CwdLock)
        {
            int r = Files.Result(Files.FChdir(directoryFd));
            if (r < 0)
            {
                return r;
            }
            try
            {
                return action();
            }
            finally
            {
                if (!_cwdFd.IsInvalid && Files.FChdir(_cwdFd.Number) < 0)
                {
                    _log?.Invoke("cannot restore the working directory");
                }
            }
        }
    }
}
