using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Sentry.Control;

/// <summary>
/// One connection of the control protocol over a unix stream socket: each message is a 4-byte
/// little-endian length and a protobuf-encoded body (<see cref="ControlMessageCodec"/>); fds ride as SCM_RIGHTS on the length's bytes.
/// Used by both ends (the runtime's client and the sandbox's <see cref="ControlServer"/>).
/// </summary>
public sealed unsafe class ControlConnection : IDisposable
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
        int length = body.Length;
        byte[] frame = new byte[4 + length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, length);
        body.CopyTo(frame.AsSpan(4));

        int sent = 0;
        if (fds.Length > 0)
        {
            // The fds ride on the first bytes of the frame; a short send leaves the rest to send(2).
            long n = ScmRights.Send(_fd, frame, fds);
            if (n < 0) throw Failure("sending on the control socket", (int)-n);
            sent = (int)n;
        }
        fixed (byte* p = frame)
        {
            while (sent < frame.Length)
            {
                long n = LibC.send(_fd, p + sent, frame.Length - sent, LibC.MSG_NOSIGNAL);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw Failure("sending on the control socket");
                }
                sent += (int)n;
            }
        }
    }

    /// <summary>Receives one message and the fds that came with it (owned by the caller, close-on-exec).</summary>
    /// <exception cref="EndOfStreamException">The peer closed the connection before a whole message.</exception>
    public T Receive<T>(out int[] fds) where T : class
    {
        Span<byte> lengthBytes = stackalloc byte[4];
        Span<int> received = stackalloc int[MaxFds];
        int got = 0;
        fds = [];
        while (got < 4)
        {
            long n = ScmRights.Receive(_fd, lengthBytes[got..], received, out int count, out _);
            if (count > 0) fds = [.. fds, .. received[..count]];
            if (n < 0) throw Failure("reading the control socket", (int)-n);
            if (n == 0) throw new EndOfStreamException("the control connection was closed");
            got += (int)n;
        }
        int length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (length is < 0 or > MaxMessageSize) throw new IOException($"control message of {length} bytes refused");
        byte[] body = new byte[length];
        fixed (byte* p = body)
        {
            int done = 0;
            while (done < length)
            {
                long n = LibC.read(_fd, p + done, length - done);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw Failure("reading the control socket");
                }
                if (n == 0) throw new EndOfStreamException("the control connection was closed mid-message");
                done += (int)n;
            }
        }
        try
        {
            if (typeof(T) == typeof(ControlRequest)) return (T)(object)ControlMessageCodec.DecodeRequest(body);
            if (typeof(T) == typeof(ControlResponse)) return (T)(object)ControlMessageCodec.DecodeResponse(body);
        }
        catch (InvalidDataException e)
        {
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

    private static IOException Failure(string what, int errno = 0)
        => new($"{what}: {Marshal.GetPInvokeErrorMessage(errno != 0 ? errno : Marshal.GetLastPInvokeError())}");
}
