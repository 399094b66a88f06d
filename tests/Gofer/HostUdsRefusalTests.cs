using System.Net.Sockets;
using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// The gofer's own check of --host-uds (it is the process that holds the host files, so a
/// compromised Sentry asking anyway is refused): connect only with "open", bind only with
/// "create", both with "all"; otherwise EPERM (runsc's gofer answer) before any lookup, with
/// nothing created on the host and no connection made.
/// </summary>
public sealed class HostUdsRefusalTests
{
    [Theory]
    [InlineData(HostUnixSockets.None, false, false)]
    [InlineData(HostUnixSockets.Open, true, false)]
    [InlineData(HostUnixSockets.Create, false, true)]
    [InlineData(HostUnixSockets.All, true, true)]
    public void OnlyTheAllowedOperationsReachTheHost(HostUnixSockets mode, bool connectAllowed, bool bindAllowed)
    {
        using var h = new GoferHarness(hostUds: mode);
        string path = Path.Combine(h.Root, "daemon.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        listener.Blocking = false;
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "daemon.sock", out ulong sock, out _));

        int r = h.Client.ConnectSocket(sock, LibC.SOCK_STREAM, out int connected);
        if (connectAllowed)
        {
            Assert.Equal(0, r);
            FileDescriptor.Close(connected);
            using Socket accepted = listener.Accept();
        }
        else
        {
            Assert.Equal(-Errno.EPERM, r);
            Assert.Throws<SocketException>(() => listener.Accept()); // EAGAIN: nobody connected
        }

        r = h.Client.BindSocket(h.RootHandle, "new.sock", LibC.SOCK_STREAM, out int bound);
        if (bindAllowed)
        {
            Assert.Equal(0, r);
            FileDescriptor.Close(bound);
            Assert.True(File.Exists(Path.Combine(h.Root, "new.sock")));
        }
        else
        {
            Assert.Equal(-Errno.EPERM, r);
            Assert.False(File.Exists(Path.Combine(h.Root, "new.sock")));
        }
        // Refused before the lookup: a bad handle or a name outside gives EPERM too, not a hint.
        if (!connectAllowed) Assert.Equal(-Errno.EPERM, h.Client.ConnectSocket(987654, LibC.SOCK_STREAM, out _));
        if (!bindAllowed) Assert.Equal(-Errno.EPERM, h.Client.BindSocket(h.RootHandle, "../outside/s", LibC.SOCK_STREAM, out _));
        h.AssertMarkerUntouched();
    }
}
