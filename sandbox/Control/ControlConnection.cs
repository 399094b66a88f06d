
namespace RunscNet.Sentry.Control;

/// <summary>
/// One connection of the control protocol over a unix stream socket: each message is a 4-byte
/// little-endian length and a protobuf-encoded body (<see cref="ControlMessageCodec"/>); fds ride as SCM_RIGHTS on the length's bytes.
/// Used by both ends (the runtime's client and the sandbox's <see cref="ControlServer"/>).
/// </summary>
public sealed class ControlConnection : IDisposable
{
    /// <summary>The largest message accepted (a ps listing of many processes fits easily).</summary>
    public const int MaxMessageSize = 16 << 20;

    /// <summary>The most fds one message may carry.</summary>
    public const int MaxFds = 16;

    // Raw: closed once by Dispose (Interlocked.Exchange), while HangupWatch may poll Fd from another thread.
    private int _fd;

    /// <summary>Wraps connected socket <paramref name="fd"/>, which this object then owns.</summary>
    public ControlConnection(int fd) => _fd = fd;

    /// <summary>The socket fd.</summary>
    public int Fd => _fd;

    /// <summary>Sends <paramref name="message"/> with <paramref name="fds"/> attached.</summary>
    /// <exception cref="IOException">The peer is gone or the write failed.</exception>
    public void Send(ControlRequest message, ReadOnlySpan<int> fds = default) => SendBody(ControlMessageCodec.Encode(message), fds);

    /// <summary>Sends <paramref name="message"/> with <paramref name="fds"/> attached.</summary>
    /// <exception cref="IOException">The peer is gone or the write failed.</exception>
    public void Send(ControlResponse message, ReadOnlySpan<int> fds = default) => SendBody(ControlMessageCodec.Encode(message), fds);

    private void SendBody(byte[] body, ReadOnlySpan<int> fds)
    {
        if (fds.Length > MaxFds) throw new ArgumentException($"at most {MaxFds} fds per message", nameof(fds));
        LengthPrefixedFrames.Send(_fd, body, fds, "the control socket");
    }

    /// <summary>Receives one message and the fds that came with it (owned by the caller, close-on-exec).</summary>
    /// <exception cref="EndOfStreamException">The peer closed the connection before a whole message.</exception>
    public T Receive<T>(out int[] fds) where T : class
    {
        byte[] body = LengthPrefixedFrames.Receive(_fd, MaxMessageSize, MaxFds, out fds, "the control socket");
        try
        {
            if (typeof(T) == typeof(ControlRequest)) return (T)(object)ControlMessageCodec.DecodeRequest(body);
            if (typeof(T) == typeof(ControlResponse)) return (T)(object)ControlMessageCodec.DecodeResponse(body);
        }
        catch (InvalidDataException e)
        {
            foreach (int fd in fds) FileDescriptor.Close(fd);
            fds = [];
            throw new IOException(e.Message, e);
        }
        throw new NotSupportedException($"{typeof(T).Name} is not a control message");
    }

    /// <summary>Closes the socket.</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) FileDescriptor.Close(fd);
    }
}
