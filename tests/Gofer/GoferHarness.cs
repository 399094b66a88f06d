using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// A gofer server on its own thread over a fresh temp directory (no namespaces), and a client
/// connected to it through a SOCK_SEQPACKET socketpair. Also makes an "outside" directory next
/// to the served one, holding a marker file no request may reach.
/// </summary>
internal sealed class GoferHarness : IDisposable
{
    private readonly Thread _serverThread;
    private readonly GoferServer _server;

    /// <param name="readOnly">Serve read-only.</param>
    /// <param name="procFdGiven">Hand the server a /proc/self/fd fd as the gofer process does after
    /// pivot_root; it then binds/connects unix sockets through cwd changes instead of /proc paths.</param>
    /// <param name="hostUds">Host unix sockets the server may bind and connect (all: the tests of those operations).</param>
    /// <param name="maxOpenHandles">The server's cap on open O_PATH fds (0: from RLIMIT_NOFILE).</param>
    public GoferHarness(bool readOnly = false, bool procFdGiven = false, HostUnixSockets hostUds = HostUnixSockets.All, int maxOpenHandles = 0)
    {
        Base = Directory.CreateTempSubdirectory("gofer-test-").FullName;
        Root = Path.Combine(Base, "root");
        Outside = Path.Combine(Base, "outside");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
        MarkerPath = Path.Combine(Outside, "marker");
        File.WriteAllText(MarkerPath, MarkerContent);
        Assert.Equal(0, Files.FChmodAt(PathConsts.AT_FDCWD, MarkerPath, MarkerMode, 0));

        (int clientFd, int serverFd) = SocketPair();
        ServerSocket = serverFd;
        int procFd = procFdGiven ? Files.OpenAt(PathConsts.AT_FDCWD, "/proc/self/fd", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0) : -1;
        _server = GoferServer.ForDirectory(serverFd, Root, new GoferServerOptions { ReadOnly = readOnly, ProcSelfFdDirectory = procFd, HostUds = hostUds, MaxOpenHandles = maxOpenHandles });
        _serverThread = new Thread(() => _server.Serve()) { IsBackground = true, Name = "gofer-test-server" };
        _serverThread.Start();
        Client = new GoferClient(clientFd);
        Assert.Equal(0, Client.Attach("/", out ulong root, out _));
        RootHandle = root;
    }

    public const uint MarkerMode = 0x180; // 0600

    public const string MarkerContent = "host marker: must never change";

    public string Base { get; }
    public string Root { get; }
    public string Outside { get; }
    public string MarkerPath { get; }
    public int ServerSocket { get; }
    public GoferClient Client { get; }
    public ulong RootHandle { get; }

    /// <summary>Handles the server holds now.</summary>
    public int ServerHandleCount => _server.HandleCount;

    /// <summary>O_PATH fds the server's handles keep open now.</summary>
    public int ServerOpenFds => _server.OpenHandleFds;

    /// <summary>Asserts the marker outside the served tree is exactly as planted.</summary>
    public void AssertMarkerUntouched()
    {
        Assert.Equal(MarkerContent, File.ReadAllText(MarkerPath));
        Assert.Equal(0x8000 | MarkerMode, (uint)HostStat(MarkerPath).Mode);
        Assert.Equal(new[] { MarkerPath }, Directory.GetFileSystemEntries(Outside));
    }

    /// <summary>Walks a relative path component by component from the root; returns -errno of the first failure.</summary>
    public int WalkPath(string relative, out ulong handle)
    {
        handle = RootHandle;
        foreach (string part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            int r = Client.Walk(handle, part, out ulong next, out _);
            if (r < 0)
            {
                return r;
            }
            handle = next;
        }
        return 0;
    }

    public static unsafe (int, int) SocketPair()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, fds));
        return (fds[0], fds[1]);
    }

    /// <summary>statx of a host path, not following a final symlink.</summary>
    public static unsafe Statx HostStat(string path)
    {
        Statx sx;
        Assert.Equal(0, Files.StatxAt(PathConsts.AT_FDCWD, path, PathConsts.AT_SYMLINK_NOFOLLOW, Files.STATX_BASIC_STATS, &sx));
        return sx;
    }

    /// <summary>Wraps a donated fd in a FileStream that closes it.</summary>
    public static FileStream Stream(int fd, FileAccess access) =>
        new(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), access, 1);

    public void Dispose()
    {
        Client.Dispose(); // shuts the socket down, so the server ends even if a forked child holds a copy
        Assert.True(_serverThread.Join(TimeSpan.FromSeconds(30)), "server did not exit after the client closed");
        _server.Dispose();
        Directory.Delete(Base, recursive: true);
    }
}
