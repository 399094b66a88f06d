using System.Runtime.InteropServices;
using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Protocol;

/// <summary>
/// Sends and receives single SOCK_SEQPACKET packets with fds in SCM_RIGHTS ancillary data.
/// Both calls retry on EINTR and never raise SIGPIPE (MSG_NOSIGNAL). Received fds are
/// close-on-exec (MSG_CMSG_CLOEXEC).
/// </summary>
internal static unsafe class PacketSocket
{
    /// <summary>
    /// Sends <paramref name="packet"/> as one packet, with <paramref name="fd"/> in SCM_RIGHTS
    /// when it is not negative. Returns 0 or -errno (EPIPE/ECONNRESET when the peer is gone).
    /// </summary>
    public static int Send(int socket, ReadOnlySpan<byte> packet, int fd)
    {
        if (packet.Length > ProtocolLimits.MaxMessageSize)
        {
            return -Errno.EMSGSIZE;
        }
        int controlSpace = Sockets.ControlSpace(sizeof(int));
        byte* control = stackalloc byte[controlSpace];
        new Span<byte>(control, controlSpace).Clear();
        fixed (byte* data = packet)
        {
            var iov = new IoVector { Base = data, Length = (nuint)packet.Length };
            var header = new MessageHeader { Iov = &iov, IovLength = 1 };
            if (fd >= 0)
            {
                *(nuint*)control = (nuint)Sockets.ControlLength(sizeof(int));
                *(int*)(control + 8) = Sockets.SOL_SOCKET;
                *(int*)(control + 12) = Sockets.SCM_RIGHTS;
                *(int*)(control + Sockets.ControlHeaderSize) = fd;
                header.Control = control;
                header.ControlLength = (nuint)controlSpace;
            }
            while (true)
            {
                nint n = Sockets.SendMessage(socket, &header, Sockets.MSG_NOSIGNAL);
                if (n >= 0)
                {
                    return n == packet.Length ? 0 : -Errno.EIO;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
        }
    }

    /// <summary>
    /// Receives one packet into <paramref name="buffer"/>. Returns its length, 0 when the peer has
    /// closed, or -errno. Up to <paramref name="fds"/>.Length received fds are stored there
    /// (<paramref name="fdCount"/>); any beyond that are closed. <paramref name="truncated"/> is
    /// set when the packet was larger than the buffer or its fds did not fit (MSG_TRUNC/CTRUNC);
    /// the excess is discarded.
    /// </summary>
    public static long Receive(int socket, Span<byte> buffer, Span<int> fds, out int fdCount, out bool truncated)
    {
        fdCount = 0;
        truncated = false;
        const int controlSpace = 64; // room for several fds so extra ones can be seen and closed
        byte* control = stackalloc byte[controlSpace];
        fixed (byte* data = buffer)
        {
            nint n;
            MessageHeader header;
            while (true)
            {
                new Span<byte>(control, controlSpace).Clear();
                var iov = new IoVector { Base = data, Length = (nuint)buffer.Length };
                header = new MessageHeader { Iov = &iov, IovLength = 1, Control = control, ControlLength = controlSpace };
                n = Sockets.ReceiveMessage(socket, &header, Sockets.MSG_CMSG_CLOEXEC);
                if (n >= 0)
                {
                    break;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    return -errno;
                }
            }
            // Walk the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR) and collect SCM_RIGHTS fds.
            long offset = 0;
            long controlLength = (long)header.ControlLength;
            while (offset + Sockets.ControlHeaderSize <= controlLength)
            {
                byte* cmsg = control + offset;
                long length = (long)*(nuint*)cmsg;
                if (length < Sockets.ControlHeaderSize || offset + length > controlLength)
                {
                    break;
                }
                if (*(int*)(cmsg + 8) == Sockets.SOL_SOCKET && *(int*)(cmsg + 12) == Sockets.SCM_RIGHTS)
                {
                    int count = (int)(length - Sockets.ControlHeaderSize) / sizeof(int);
                    for (int i = 0; i < count; i++)
                    {
                        int fd = *(int*)(cmsg + Sockets.ControlHeaderSize + i * sizeof(int));
                        if (fdCount < fds.Length)
                        {
                            fds[fdCount++] = fd;
                        }
                        else
                        {
                            FileDescriptor.Close(fd);
                            truncated = true;
                        }
                    }
                }
                offset += Sockets.ControlAlign((int)length);
            }
            if ((header.Flags & (Sockets.MSG_TRUNC | Sockets.MSG_CTRUNC)) != 0)
            {
                truncated = true;
            }
            return n;
        }
    }

    /// <summary>Closes every fd in <paramref name="fds"/>.</summary>
    public static void CloseAll(ReadOnlySpan<int> fds)
    {
        foreach (int fd in fds)
        {
            FileDescriptor.Close(fd);
        }
    }
}
