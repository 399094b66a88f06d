using System.Runtime.InteropServices;
using RunscNet.Runtime.Interop;
using RunscNet.Sentry.Control;
using Tmds.Linux;

namespace RunscNet.Runtime.Control;

/// <summary>
/// The runtime's end of the control protocol: one connection per request to the sandbox's
/// control socket, answered by <see cref="ControlServer"/> in the boot process.
/// </summary>
public sealed class ControlClient
{
    private readonly string _socketPath;
    private readonly string _containerId;

    /// <summary>A client for the sandbox of <paramref name="containerId"/> listening at <paramref name="socketPath"/>.</summary>
    public ControlClient(string socketPath, string containerId)
    {
        _socketPath = socketPath;
        _containerId = containerId;
    }

    /// <summary>
    /// Sends <paramref name="request"/> (with <paramref name="fds"/> attached) and returns the answer.
    /// A null <paramref name="timeout"/> waits as long as the sandbox takes (Wait).
    /// </summary>
    /// <exception cref="SandboxUnreachableException">The sandbox is gone or hung up before answering.</exception>
    /// <exception cref="RuntimeError">The sandbox answered with an error.</exception>
    public unsafe ControlResponse Call(ControlRequest request, ReadOnlySpan<int> fds = default, TimeSpan? timeout = null, Action? sent = null)
    {
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new RuntimeError($"creating a socket: {Processes.LastError()}");
        using var connection = new ControlConnection(fd);
        int length = Sockets.MakeAddress(_socketPath, out var address);
        int rc;
        do { rc = LibC.connect(fd, (sockaddr*)&address, length); } while (rc < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (rc < 0)
            throw new SandboxUnreachableException($"container {_containerId}: cannot reach its sandbox at {_socketPath}: {Processes.LastError()}");
        if (timeout is TimeSpan t) Sockets.SetTimeouts(fd, t);
        ControlResponse response;
        try
        {
            connection.Send(request, fds);
            sent?.Invoke();
            response = connection.Receive<ControlResponse>(out int[] received);
            foreach (int extra in received) FileDescriptor.Close(extra);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            throw new SandboxUnreachableException($"container {_containerId}: the sandbox hung up during {request.Operation}: {e.Message}");
        }
        if (!string.IsNullOrEmpty(response.Error))
            throw new RuntimeError($"container {_containerId}: {response.Error}");
        return response;
    }
}

/// <summary>The sandbox could not be reached or closed the connection without answering.</summary>
public sealed class SandboxUnreachableException : RuntimeError
{
    /// <summary>Creates the error with a user-facing message.</summary>
    public SandboxUnreachableException(string message) : base(message) { }
}
