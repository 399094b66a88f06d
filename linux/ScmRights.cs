using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.LinuxInterop;

/// <summary>
/// One message with file descriptors in SCM_RIGHTS ancillary data (unix(7), cmsg(3)), the framing
/// both of our protocols use: the gofer's SOCK_SEQPACKET packets and the control socket's
/// length-prefixed frames. Sends never raise SIGPIPE (MSG_NOSIGNAL); received fds are
/// close-on-exec (MSG_CMSG_CLOEXEC); both retry on EINTR.
/// </summary>
public static unsafe class ScmRights
{
    /// <summary>Most fds one message carries (SCM_MAX_FD is 253; our protocols send a handful).</summary>
    public const int MaxFds = 16;

    /// <summary>
    /// CMSG_LEN(3): the cmsg_len of <paramref name="dataLength"/> bytes of data, the header's size
    /// plus the data, unaligned. Not Tmds.LibC's CMSG_LEN: 0.5.0 rounds the data up (CMSG_LEN(4)
    /// is 24, not 20), so one fd would go out as two, the second being whatever follows it.
    /// </summary>
    public static int ControlLength(int dataLength) => sizeof(cmsghdr) + dataLength;

    /// <summary>
    /// Sends <paramref name="data"/> with <paramref name="fds"/> attached (none when empty) on the
    /// connected socket. Returns the bytes sent or -errno (EPIPE/ECONNRESET when the peer is gone).
    /// </summary>
    public static long Send(int socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds)
    {
        if (fds.Length > MaxFds) return -Errno.EINVAL;
        int space = fds.Length == 0 ? 0 : LibC.CMSG_SPACE(sizeof(int) * fds.Length);
        byte* control = stackalloc byte[Math.Max(space, 1)];
        new Span<byte>(control, space).Clear();
        fixed (byte* p = data)
        {
            var iov = new iovec { iov_base = p, iov_len = (size_t)(ulong)data.Length };
            var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
            if (fds.Length > 0)
            {
                msg.msg_control = control;
                msg.msg_controllen = (socklen_t)(uint)space;
                cmsghdr* header = LibC.CMSG_FIRSTHDR(&msg);
                header->cmsg_len = (socklen_t)(uint)ControlLength(sizeof(int) * fds.Length);
                header->cmsg_level = LibC.SOL_SOCKET;
                header->cmsg_type = LibC.SCM_RIGHTS;
                fds.CopyTo(new Span<int>(LibC.CMSG_DATA(header), fds.Length));
            }
            while (true)
            {
                long n = LibC.sendmsg(socket, &msg, LibC.MSG_NOSIGNAL);
                if (n >= 0) return n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) return -errno;
            }
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>: its length, 0 at end of stream, or
    /// -errno. Up to <paramref name="fds"/>.Length received fds are stored there
    /// (<paramref name="fdCount"/>); any beyond that are closed. <paramref name="truncated"/> is
    /// set when the data or the fds did not fit (MSG_TRUNC/MSG_CTRUNC, or fds closed here).
    /// </summary>
    public static long Receive(int socket, Span<byte> buffer, Span<int> fds, out int fdCount, out bool truncated)
    {
        fdCount = 0;
        truncated = false;
        // Room for more fds than asked, so extra ones are seen and closed rather than left open by CTRUNC.
        int space = LibC.CMSG_SPACE(sizeof(int) * MaxFds);
        byte* control = stackalloc byte[space];
        fixed (byte* p = buffer)
        {
            msghdr msg;
            long n;
            while (true)
            {
                new Span<byte>(control, space).Clear();
                var iov = new iovec { iov_base = p, iov_len = (size_t)(ulong)buffer.Length };
                msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (socklen_t)(uint)space };
                n = LibC.recvmsg(socket, &msg, LibC.MSG_CMSG_CLOEXEC);
                if (n >= 0) break;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) return -errno;
            }
            for (cmsghdr* c = LibC.CMSG_FIRSTHDR(&msg); c != null; c = LibC.CMSG_NXTHDR(&msg, c))
            {
                if (c->cmsg_level != LibC.SOL_SOCKET || c->cmsg_type != LibC.SCM_RIGHTS) continue;
                int count = ((int)(uint)c->cmsg_len - ControlLength(0)) / sizeof(int);
                int* received = (int*)LibC.CMSG_DATA(c);
                for (int i = 0; i < count; i++)
                {
                    if (fdCount < fds.Length) fds[fdCount++] = received[i];
                    else
                    {
                        LibC.close(received[i]);
                        truncated = true;
                    }
                }
            }
            if ((msg.msg_flags & (LibC.MSG_TRUNC | LibC.MSG_CTRUNC)) != 0) truncated = true;
            return n;
        }
    }
}
