using System.Buffers.Binary;
using Tmds.Linux;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// The control protocol's framing (<see cref="LengthPrefixedFrames"/>) facing a hostile peer: the
/// sandbox end is the one a compromised Sentry or a stray local client talks to. A huge or
/// negative length is refused before anything is allocated, fds that came with a refused or cut
/// frame are closed (not leaked into the receiver), and a peer that hangs up mid-frame is an
/// end of stream, never a hang.
/// </summary>
public sealed unsafe class ControlFramingTests
{
    private static (int a, int b) StreamPair()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds));
        return (fds[0], fds[1]);
    }

    private static bool IsOpen(int fd) => LibC.fcntl(fd, LibC.F_GETFD) >= 0;

    private static void SendRaw(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
            Assert.Equal(bytes.Length, (int)(long)LibC.send(fd, p, bytes.Length, LibC.MSG_NOSIGNAL));
    }

    [Fact]
    public void AFrameAndItsFdsArriveWhole()
    {
        var (a, b) = StreamPair();
        var (x, y) = StreamPair();
        try
        {
            byte[] body = new byte[200_000];   // larger than one socket buffer: sent and read in pieces
            Random.Shared.NextBytes(body);
            // The sender blocks once the socket buffer is full, so it runs on its own thread.
            var sender = new Thread(() => LengthPrefixedFrames.Send(a, body, [x], "test socket"));
            sender.Start();
            byte[] got = LengthPrefixedFrames.Receive(b, 1 << 20, 4, out int[] fds, "test socket");
            sender.Join();
            Assert.Equal(body, got);
            Assert.Single(fds);
            Assert.NotEqual(x, fds[0]);
            Assert.True(IsOpen(fds[0]));
            FileDescriptor.Close(fds[0]);
        }
        finally
        {
            foreach (int fd in new[] { a, b, x, y }) FileDescriptor.Close(fd);
        }
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    [InlineData((16 << 20) + 1)]
    public void AHostileLengthIsRefusedAndItsFdsClosed(int length)
    {
        var (a, b) = StreamPair();
        int* pipe = stackalloc int[2];
        Assert.Equal(0, LibC.pipe2(pipe, LibC.O_CLOEXEC));
        int readEnd = pipe[0], writeEnd = pipe[1];
        try
        {
            Span<byte> header = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(header, length);
            Assert.Equal(4, (int)ScmRights.Send(a, header, [writeEnd]));
            FileDescriptor.Close(writeEnd);   // now the only write end is the one in flight
            writeEnd = -1;
            int[] seen = [0];
            var e = Assert.Throws<IOException>(() => LengthPrefixedFrames.Receive(b, 16 << 20, 4, out seen, "test socket"));
            Assert.Contains("refused", e.Message);
            Assert.Empty(seen);
            // The received copy of the write end was closed with the refusal: the pipe has no
            // writer left, so its read end reports a hang-up at once (a leak would keep it open).
            var p = new pollfd { fd = readEnd, events = LibC.POLLIN };
            Assert.Equal(1, LibC.poll(&p, 1, 0));
            Assert.NotEqual(0, p.revents & LibC.POLLHUP);
        }
        finally
        {
            foreach (int fd in new[] { a, b, readEnd, writeEnd }) if (fd >= 0) FileDescriptor.Close(fd);
        }
    }

    [Fact]
    public void APeerThatHangsUpMidFrameEndsTheStream()
    {
        var (a, b) = StreamPair();
        try
        {
            Span<byte> frame = stackalloc byte[4 + 10];
            BinaryPrimitives.WriteInt32LittleEndian(frame, 100);   // promises 100 bytes, sends 10
            SendRaw(a, frame);
            FileDescriptor.Close(a);
            a = -1;
            var e = Assert.Throws<EndOfStreamException>(() => LengthPrefixedFrames.Receive(b, 1 << 20, 4, out _, "test socket"));
            Assert.Contains("mid-message", e.Message);
        }
        finally
        {
            if (a >= 0) FileDescriptor.Close(a);
            FileDescriptor.Close(b);
        }
    }
}
