namespace RunscNet.Gofer.Protocol;

/// <summary>
/// The gofer protocol's wire: one message per SOCK_SEQPACKET packet (the packet boundary is the
/// frame), at most <see cref="ProtocolLimits.MaxMessageSize"/> bytes, a host fd in SCM_RIGHTS
/// when the message carries one. The framing itself is <see cref="ScmRights"/>, shared with the
/// control protocol: EINTR retried, no SIGPIPE, received fds close-on-exec.
/// </summary>
internal static class PacketSocket
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
        long n = ScmRights.Send(socket, packet, fd >= 0 ? new ReadOnlySpan<int>(in fd) : default);
        return n < 0 ? (int)n : n == packet.Length ? 0 : -Errno.EIO;
    }

    /// <summary>
    /// Receives one packet into <paramref name="buffer"/>. Returns its length, 0 when the peer has
    /// closed, or -errno. Up to <paramref name="fds"/>.Length received fds are stored there
    /// (<paramref name="fdCount"/>); any beyond that are closed. <paramref name="truncated"/> is
    /// set when the packet was larger than the buffer or its fds did not fit (MSG_TRUNC/CTRUNC);
    /// the excess is discarded.
    /// </summary>
    public static long Receive(int socket, Span<byte> buffer, Span<int> fds, out int fdCount, out bool truncated)
        => ScmRights.Receive(socket, buffer, fds, out fdCount, out truncated);

    /// <summary>Closes every fd in <paramref name="fds"/>.</summary>
    public static void CloseAll(ReadOnlySpan<int> fds)
    {
        foreach (int fd in fds)
        {
            FileDescriptor.Close(fd);
        }
    }
}
