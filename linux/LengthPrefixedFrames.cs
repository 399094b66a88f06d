using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.LinuxInterop;

/// <summary>
/// The framing of the control protocol on a unix stream socket: a 4-byte little-endian length,
/// then the body; fds ride as SCM_RIGHTS on the frame's first bytes. (The gofer protocol uses
/// SOCK_SEQPACKET, one message per packet, through <see cref="ScmRights"/> directly.)
/// Errors are IOExceptions naming <c>what</c>; a peer that closes is an EndOfStreamException.
/// </summary>
public static unsafe class LengthPrefixedFrames
{
    /// <summary>Sends one frame holding <paramref name="body"/>, with <paramref name="fds"/> attached.</summary>
    public static void Send(int socket, ReadOnlySpan<byte> body, ReadOnlySpan<int> fds, string what)
    {
        byte[] frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, body.Length);
        body.CopyTo(frame.AsSpan(4));

        int sent = 0;
        if (fds.Length > 0)
        {
            // A short send leaves the rest of the frame to send(2); the fds went with the first bytes.
            long n = ScmRights.Send(socket, frame, fds);
            if (n < 0) throw Failure($"sending on {what}", (int)-n);
            sent = (int)n;
        }
        fixed (byte* p = frame)
        {
            while (sent < frame.Length)
            {
                long n = LibC.send(socket, p + sent, frame.Length - sent, LibC.MSG_NOSIGNAL);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw Failure($"sending on {what}");
                }
                sent += (int)n;
            }
        }
    }

    /// <summary>
    /// Receives one frame's body and the fds that came with it (close-on-exec, owned by the
    /// caller, even when this throws after receiving them: they are closed then). A length above
    /// <paramref name="maxSize"/> is refused before anything is allocated.
    /// </summary>
    public static byte[] Receive(int socket, int maxSize, int maxFds, out int[] fds, string what)
    {
        Span<byte> lengthBytes = stackalloc byte[4];
        Span<int> received = stackalloc int[maxFds];
        int got = 0;
        fds = [];
        try
        {
            while (got < 4)
            {
                long n = ScmRights.Receive(socket, lengthBytes[got..], received, out int count, out _);
                if (count > 0) fds = [.. fds, .. received[..count]];
                if (n < 0) throw Failure($"reading {what}", (int)-n);
                if (n == 0) throw new EndOfStreamException($"{what} was closed");
                got += (int)n;
            }
            int length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
            if (length < 0 || length > maxSize) throw new IOException($"a message of {length} bytes on {what} refused");
            byte[] body = new byte[length];
            fixed (byte* p = body)
            {
                int done = 0;
                while (done < length)
                {
                    long n = LibC.read(socket, p + done, length - done);
                    if (n < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                        throw Failure($"reading {what}");
                    }
                    if (n == 0) throw new EndOfStreamException($"{what} was closed mid-message");
                    done += (int)n;
                }
            }
            return body;
        }
        catch
        {
            foreach (int fd in fds) FileDescriptor.Close(fd);
            fds = [];
            throw;
        }
    }

    private static IOException Failure(string what, int errno = 0)
        => new($"{what}: {Marshal.GetPInvokeErrorMessage(errno != 0 ? errno : Marshal.GetLastPInvokeError())}");
}
