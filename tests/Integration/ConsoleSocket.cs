using System.Net.Sockets;
using System.Text;
using RunscNet.Gofer.Protocol;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// A console socket as conmon and containerd's shim make one (--console-socket): listens, takes
/// one connection and receives the pty master fd, with the pty's name, that the runtime sends.
/// </summary>
internal sealed class ConsoleSocket : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly System.Threading.Tasks.Task<(int Fd, string Name)> _received;

    public ConsoleSocket(string path)
    {
        Path = path;
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        _received = System.Threading.Tasks.Task.Run(() =>
        {
            using var connection = _listener.Accept();
            var buffer = new byte[4096];
            var fds = new int[4];
            long n = PacketSocket.Receive((int)connection.Handle, buffer, fds, out int fdCount, out _);
            if (n <= 0 || fdCount < 1) throw new InvalidOperationException($"no terminal received ({n}, {fdCount} fds)");
            return (fds[0], Encoding.UTF8.GetString(buffer, 0, (int)n));
        });
    }

    public string Path { get; }

    /// <summary>The master fd and the pty name the runtime sent.</summary>
    public (int Fd, string Name) Received()
    {
        Assert.True(_received.Wait(TimeSpan.FromSeconds(60)), "nothing arrived on the console socket");
        return _received.Result;
    }

    /// <summary>The master fd the runtime sent.</summary>
    public int Master() => Received().Fd;

    public void Dispose() => _listener.Dispose();
}

/// <summary>read(2), write(2) and close(2) on a raw fd (a pty master received from a console socket).</summary>
internal static unsafe class TerminalIo
{
    public static nint Read(int fd, byte[] buffer, nint count)
    {
        fixed (byte* p = buffer) return (nint)(long)Tmds.Linux.LibC.read(fd, p, (Tmds.Linux.size_t)(ulong)count);
    }

    public static nint Write(int fd, byte[] buffer, nint count)
    {
        fixed (byte* p = buffer) return (nint)(long)Tmds.Linux.LibC.write(fd, p, (Tmds.Linux.size_t)(ulong)count);
    }

    public static int Close(int fd) => Tmds.Linux.LibC.close(fd);
}
