using System.Net.Sockets;
using System.Text;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Attack: a host daemon's socket (docker.sock, dbus, systemd's) sits in a directory the spec
/// bind-mounts; the container connects to it. Blocked: by default (--host-uds none, runsc's
/// default) the Sentry does not ask and the gofer would refuse (EPERM: tests/Gofer
/// HostUdsRefusalTests), so connect fails with ECONNREFUSED as in runsc, and the host daemon
/// sees no connection. With --host-uds open the same program reaches it, and learns no host path.
/// </summary>
public sealed class HostUnixSocketTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly string _hostDir = Directory.CreateTempSubdirectory("runsc-net-hostuds-").FullName;
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
        Directory.Delete(_hostDir, recursive: true);
    }

    /// <summary>Runs the probe against a listening host socket; returns its output and how many connections the host accepted.</summary>
    private (CommandResult Result, int Accepted) RunAgainstHostSocket(params string[] globalFlags)
    {
        string path = Path.Combine(_hostDir, "daemon.sock");
        File.Delete(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(8);
        int accepted = 0;
        var server = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    using Socket c = listener.Accept();
                    Interlocked.Increment(ref accepted);
                    byte[] buffer = new byte[16];
                    int n = c.Receive(buffer);
                    c.Send(Encoding.ASCII.GetBytes("pong:" + Encoding.ASCII.GetString(buffer, 0, n)));
                }
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }) { IsBackground = true };
        server.Start();
        string bundle = SecurityBundles.Make(["/probe/hostuds", "/run/daemon.sock"], (_hostDir, "/run"));
        _bundles.Add(bundle);
        var r = _runsc.Run([.. globalFlags, "run", "--bundle", bundle, "hostuds-" + Guid.NewGuid().ToString("N")[..8]]);
        listener.Close();
        server.Join(TimeSpan.FromSeconds(10));
        return (r, accepted);
    }

    [IntegrationFact(needsRootfs: true)]
    public void ByDefaultAHostSocketIsRefused()
    {
        var (r, accepted) = RunAgainstHostSocket();
        r.AssertSuccess();
        Assert.Equal("connect(s, (struct sockaddr *)&a, sizeof a): -1 ECONNREFUSED\n", r.Stdout);
        Assert.Equal(0, accepted);
    }

    [IntegrationFact(needsRootfs: true)]
    public void WithHostUdsNoneOrCreateAHostSocketIsRefused()
    {
        foreach (string mode in new[] { "none", "create" })
        {
            var (r, accepted) = RunAgainstHostSocket("--host-uds", mode);
            r.AssertSuccess();
            Assert.Equal("connect(s, (struct sockaddr *)&a, sizeof a): -1 ECONNREFUSED\n", r.Stdout);
            Assert.Equal(0, accepted);
        }
    }

    [IntegrationFact(needsRootfs: true)]
    public void WithHostUdsOpenTheContainerReachesIt()
    {
        var (r, accepted) = RunAgainstHostSocket("--host-uds", "open");
        r.AssertSuccess();
        Assert.Equal(
            "connect(s, (struct sockaddr *)&a, sizeof a): 0\n" +
            "peer: /run/daemon.sock\n" + // the path the container used, not the host's
            "sendto(s, \"x\", 1, 0, (struct sockaddr *)&a, sizeof a): -1 EISCONN\n" +
            "write(s, \"ping\", 4): 4\n" +
            "read(s, buf, sizeof buf - 1): 9\n" +
            "reply: pong:ping\n" +
            "connect(s, (struct sockaddr *)&a, sizeof a): -1 EISCONN\n", r.Stdout);
        Assert.Equal(1, accepted);
        Assert.DoesNotContain(_hostDir, r.Stdout);
    }

    [IntegrationFact(needsRoot: false)]
    public void AnUnknownModeIsAOneLineError()
    {
        string line = _runsc.Run("--host-uds", "everything", "list").AssertOneLineError();
        Assert.Contains("--host-uds", line);
    }
}
