using System.Buffers;
using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// A misbehaving peer gets error answers and the server keeps serving; a dead gofer makes every
/// client call fail with EIO instead of hanging; versions must match.
/// </summary>
public sealed class GoferRobustnessTests
{
    /// <summary>A server thread over a temp dir, driven through a raw socket (no GoferClient).</summary>
    private sealed class RawPeer : IDisposable
    {
        private readonly Thread _thread;
        private readonly GoferServer _server;
        private readonly string _dir;
        private readonly ArrayBufferWriter<byte> _writer = new();

        public RawPeer()
        {
            _dir = Directory.CreateTempSubdirectory("gofer-raw-").FullName;
            (Socket, int serverFd) = GoferHarness.SocketPair();
            _server = GoferServer.ForDirectory(serverFd, _dir);
            _thread = new Thread(_server.Serve) { IsBackground = true };
            _thread.Start();
        }

        public int Socket { get; }

        public void SendRaw(ReadOnlySpan<byte> packet, int fd = -1) => Assert.Equal(0, PacketSocket.Send(Socket, packet, fd));

        public void Send<T>(Operation op, uint tag, T message, ushort version = ProtocolLimits.Version)
        {
            byte[] packet = MessageCodec.Encode(_writer, op, tag, message, 0).ToArray();
            BitConverter.TryWriteBytes(packet.AsSpan(0, 2), version);
            SendRaw(packet);
        }

        public (PacketHeader Header, T Response) Receive<T>() where T : class
        {
            byte[] buffer = new byte[ProtocolLimits.MaxMessageSize];
            Span<int> fds = stackalloc int[1];
            long n = PacketSocket.Receive(Socket, buffer, fds, out int fdCount, out bool truncated);
            Assert.True(n >= PacketHeader.Size, $"receive returned {n}");
            Assert.False(truncated);
            PacketSocket.CloseAll(fds[..fdCount]);
            Assert.True(PacketHeader.TryRead(buffer.AsSpan(0, (int)n), out PacketHeader header));
            Assert.Equal((uint)(n - PacketHeader.Size), header.PayloadLength);
            Assert.True(MessageCodec.TryDecode(buffer.AsSpan(PacketHeader.Size, (int)n - PacketHeader.Size), out T? response));
            return (header, response!);
        }

        public void Handshake()
        {
            Send(Operation.Handshake, 1, new HandshakeRequest { Version = ProtocolLimits.Version });
            Assert.Equal(0, Receive<HandshakeResponse>().Response.Errno);
        }

        public void AssertStillServes(uint tag)
        {
            Send(Operation.Attach, tag, new AttachRequest { Path = "/" });
            (PacketHeader header, AttachResponse response) = Receive<AttachResponse>();
            Assert.Equal((Operation.Attach, tag, 0), (header.Op, header.Tag, response.Errno));
            Assert.NotEqual(0UL, response.Node!.Handle);
        }

        public void Dispose()
        {
            FileDescriptor.Close(Socket);
            Assert.True(_thread.Join(TimeSpan.FromSeconds(30)), "server did not exit after the peer closed");
            _server.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void RequestsBeforeTheHandshakeAreRefused()
    {
        using var peer = new RawPeer();
        peer.Send(Operation.Attach, 5, new AttachRequest { Path = "/" });
        (PacketHeader header, AttachResponse response) = peer.Receive<AttachResponse>();
        Assert.Equal((Operation.Attach, 5u, Errno.EPROTO), (header.Op, header.Tag, response.Errno));
        peer.Handshake();
        peer.AssertStillServes(6);
    }

    [Fact]
    public void AVersionMismatchIsRefused()
    {
        using var peer = new RawPeer();
        peer.Send(Operation.Handshake, 1, new HandshakeRequest { Version = ProtocolLimits.Version + 1 });
        (_, HandshakeResponse hs) = peer.Receive<HandshakeResponse>();
        Assert.Equal(Errno.EPROTONOSUPPORT, hs.Errno);
        Assert.Equal(ProtocolLimits.Version, hs.Version);
        peer.Send(Operation.Handshake, 2, new HandshakeRequest { Version = ProtocolLimits.Version }, version: 7);
        Assert.Equal(Errno.EPROTONOSUPPORT, peer.Receive<HandshakeResponse>().Response.Errno);
        peer.Send(Operation.Attach, 3, new AttachRequest { Path = "/" });
        Assert.Equal(Errno.EPROTO, peer.Receive<AttachResponse>().Response.Errno); // still not handshaken
    }

    [Fact]
    public void ClientRefusesAServerOfAnotherVersion()
    {
        (int clientFd, int fakeFd) = GoferHarness.SocketPair();
        var fake = new Thread(() =>
        {
            byte[] buffer = new byte[ProtocolLimits.MaxMessageSize];
            Span<int> fds = stackalloc int[1];
            long n = PacketSocket.Receive(fakeFd, buffer, fds, out _, out _);
            PacketHeader.TryRead(buffer.AsSpan(0, (int)n), out PacketHeader header);
            byte[] answer = MessageCodec.Encode(new ArrayBufferWriter<byte>(), Operation.Handshake, header.Tag,
                new HandshakeResponse { Version = ProtocolLimits.Version + 1, Errno = Errno.EPROTONOSUPPORT }, 0).ToArray();
            PacketSocket.Send(fakeFd, answer, -1);
        });
        fake.Start();
        var e = Assert.Throws<IOException>(() => new GoferClient(clientFd));
        Assert.Contains("version", e.Message);
        fake.Join();
        FileDescriptor.Close(fakeFd);
    }

    [Fact]
    public void MalformedMessagesGetErrorsAndServingContinues()
    {
        using var peer = new RawPeer();
        peer.Handshake();

        peer.SendRaw(new byte[] { 1, 2, 3 }); // shorter than a header
        (PacketHeader h1, ErrorResponse e1) = peer.Receive<ErrorResponse>();
        Assert.Equal((Operation.None, Errno.EBADMSG), (h1.Op, e1.Errno));

        byte[] garbage = new byte[PacketHeader.Size + 40];
        new PacketHeader(ProtocolLimits.Version, Operation.Walk, 9, 40, 0).Write(garbage);
        garbage.AsSpan(PacketHeader.Size).Fill(0xFF); // not a protobuf message
        peer.SendRaw(garbage);
        (PacketHeader h2, WalkResponse e2) = peer.Receive<WalkResponse>();
        Assert.Equal((Operation.Walk, 9u, Errno.EBADMSG), (h2.Op, h2.Tag, e2.Errno));

        byte[] lying = new byte[PacketHeader.Size + 4];
        new PacketHeader(ProtocolLimits.Version, Operation.Stat, 10, 400, 0).Write(lying); // length does not match
        peer.SendRaw(lying);
        Assert.Equal(Errno.EBADMSG, peer.Receive<StatResponse>().Response.Errno);

        byte[] unknownOp = new byte[PacketHeader.Size];
        new PacketHeader(ProtocolLimits.Version, (Operation)999, 11, 0, 0).Write(unknownOp);
        peer.SendRaw(unknownOp);
        Assert.Equal(Errno.ENOSYS, peer.Receive<ErrorResponse>().Response.Errno);

        byte[] withFd = new byte[PacketHeader.Size];
        new PacketHeader(ProtocolLimits.Version, Operation.Stat, 12, 0, 1).Write(withFd);
        peer.SendRaw(withFd, fd: 0); // the server must not keep fds it is sent
        Assert.Equal(Errno.EBADMSG, peer.Receive<StatResponse>().Response.Errno);

        peer.AssertStillServes(13);
    }

    [Fact]
    public void DeeplyNestedGroupsDoNotOverflowTheStack()
    {
        using var peer = new RawPeer();
        peer.Handshake();
        // 100000 nested "start group" tags of an unknown field: a decoder that recursed per level
        // would run out of stack.
        byte[] packet = new byte[PacketHeader.Size + 100_000];
        packet.AsSpan(PacketHeader.Size).Fill(0x7B); // field 15, wire type 3 (start group)
        new PacketHeader(ProtocolLimits.Version, Operation.Stat, 31, 100_000, 0).Write(packet);
        peer.SendRaw(packet);
        Assert.Equal(Errno.EBADMSG, peer.Receive<StatResponse>().Response.Errno);
        peer.AssertStillServes(32);
    }

    [Fact]
    public void OversizedMessagesGetEmsgsize()
    {
        using var peer = new RawPeer();
        peer.Handshake();
        byte[] big = new byte[ProtocolLimits.MaxMessageSize + 1000];
        new PacketHeader(ProtocolLimits.Version, Operation.Walk, 21, (uint)(big.Length - PacketHeader.Size), 0).Write(big);
        // PacketSocket.Send refuses oversized packets itself, so send through the shared framing.
        Assert.Equal(big.Length, (int)ScmRights.Send(peer.Socket, big, default));
        (PacketHeader header, WalkResponse response) = peer.Receive<WalkResponse>();
        Assert.Equal((Operation.Walk, 21u, Errno.EMSGSIZE), (header.Op, header.Tag, response.Errno));
        peer.AssertStillServes(22);
    }

    [Fact]
    public void UnknownHandlesGetEbadf()
    {
        using var h = new GoferHarness();
        GoferClient c = h.Client;
        const ulong bogus = 0xDEADBEEF;
        Assert.Equal(-Errno.EBADF, c.Stat(bogus, out _));
        Assert.Equal(-Errno.EBADF, c.Stat(0, out _));
        Assert.Equal(-Errno.EBADF, c.Walk(bogus, "x", out _, out _));
        Assert.Equal(-Errno.EBADF, c.Open(bogus, OpenFlags.O_RDONLY, out _));
        Assert.Equal(-Errno.EBADF, c.Create(bogus, "x", OpenFlags.O_RDWR, 0x1A4, 0, 0, out _, out _, out _));
        Assert.Equal(-Errno.EBADF, c.Mkdir(bogus, "x", 0x1ED, 0, 0, out _, out _));
        Assert.Equal(-Errno.EBADF, c.Link(h.RootHandle, "x", bogus, out _));
        Assert.Equal(-Errno.EBADF, c.Rename(h.RootHandle, "x", bogus, "y", 0));
        Assert.Equal(-Errno.EBADF, c.Readlink(bogus, out _));
        Assert.Equal(-Errno.EBADF, c.SetAttr(bogus, new GoferSetAttr { Mask = GoferSetAttr.SetMode }));
        Assert.Equal(-Errno.EBADF, c.GetDents(bogus, out _));
        Assert.Equal(-Errno.EBADF, c.StatFs(bogus, out _));
        Assert.Equal(-Errno.EBADF, c.GetXattr(bogus, "user.x", out _));
        Assert.Equal(-Errno.EBADF, c.Fsync(bogus));
        Assert.Equal(-Errno.EBADF, c.ConnectSocket(bogus, LibC.SOCK_STREAM, out _));
        c.Release(bogus); // ignored
        Assert.False(c.IsReadOnly(bogus));
        Assert.Equal(0, c.Stat(h.RootHandle, out _)); // the connection is fine
    }

    [Fact]
    public void PeerDeathGivesEioToEveryCall()
    {
        (int clientFd, int fakeFd) = GoferHarness.SocketPair();
        // A gofer that answers the handshake, reads one more request, and dies without answering.
        var fake = new Thread(() =>
        {
            byte[] buffer = new byte[ProtocolLimits.MaxMessageSize];
            Span<int> fds = stackalloc int[1];
            long n = PacketSocket.Receive(fakeFd, buffer, fds, out _, out _);
            PacketHeader.TryRead(buffer.AsSpan(0, (int)n), out PacketHeader header);
            byte[] answer = MessageCodec.Encode(new ArrayBufferWriter<byte>(), Operation.Handshake, header.Tag,
                new HandshakeResponse { Version = ProtocolLimits.Version }, 0).ToArray();
            PacketSocket.Send(fakeFd, answer, -1);
            PacketSocket.Receive(fakeFd, buffer, fds, out _, out _);
            FileDescriptor.Close(fakeFd);
        });
        fake.Start();
        using var client = new GoferClient(clientFd);
        Assert.False(client.IsBroken);
        Assert.Equal(-Errno.EIO, client.Attach("/", out _, out _)); // in flight when the gofer died
        fake.Join();
        Assert.True(client.IsBroken);
        Assert.Equal(-Errno.EIO, client.Stat(1, out _));
        Assert.Equal(-Errno.EIO, client.Walk(1, "x", out _, out _));
        Assert.Equal(-Errno.EIO, client.Open(1, 0, out int fd));
        Assert.Equal(-1, fd);
        Assert.Equal(-Errno.EIO, client.GetDents(1, out _));
        client.Release(1);
    }

    [Fact]
    public void ServerGoneBeforeTheRequestGivesEio()
    {
        using var h = new GoferHarness();
        Assert.Equal(0, h.Client.Stat(h.RootHandle, out _));
        LibC.shutdown(h.ServerSocket, LibC.SHUT_RDWR); // the gofer's end goes away
        Assert.Equal(-Errno.EIO, h.Client.Stat(h.RootHandle, out _));
        Assert.Equal(-Errno.EIO, h.Client.Mkdir(h.RootHandle, "x", 0x1ED, 0, 0, out _, out _));
        Assert.False(Directory.Exists(Path.Combine(h.Root, "x")));
    }

    [Fact]
    public void MessagesRoundTripThroughTheCodec()
    {
        var writer = new ArrayBufferWriter<byte>();
        var request = new SetAttrRequest { Handle = 42, Mask = 63, Mode = 0x1ED, Uid = 1, Gid = 2, Size = -5, AtimeNsec = GoferSetAttr.UtimeNow };
        ReadOnlyMemory<byte> packet = MessageCodec.Encode(writer, Operation.SetAttr, 77, request, 0);
        Assert.True(PacketHeader.TryRead(packet.Span, out PacketHeader header));
        Assert.Equal(new PacketHeader(ProtocolLimits.Version, Operation.SetAttr, 77, (uint)(packet.Length - PacketHeader.Size), 0), header);
        Assert.True(MessageCodec.TryDecode(packet.Span[PacketHeader.Size..], out SetAttrRequest? decoded));
        Assert.Equal((42UL, 63u, 0x1EDu, 1u, 2u, -5L, GoferSetAttr.UtimeNow),
            (decoded!.Handle, decoded.Mask, decoded.Mode, decoded.Uid, decoded.Gid, decoded.Size, decoded.AtimeNsec));

        var dents = new GetDentsResponse { NextCookie = 99, End = true };
        dents.Entries.Add(new WireDirEntry { Name = "héllo", Ino = 7, Type = 8 });
        packet = MessageCodec.Encode(writer, Operation.GetDents, 1, dents, 0);
        Assert.True(MessageCodec.TryDecode(packet.Span[PacketHeader.Size..], out GetDentsResponse? d));
        Assert.Equal(("héllo", 7UL, 8u, 99L, true), (d!.Entries[0].Name, d.Entries[0].Ino, d.Entries[0].Type, d.NextCookie, d.End));

        // An error answer decodes as any response type: errno is field 1 everywhere.
        packet = MessageCodec.Encode(writer, Operation.Open, 1, new ErrorResponse { Errno = Errno.EBADMSG }, 0);
        Assert.True(MessageCodec.TryDecode(packet.Span[PacketHeader.Size..], out OpenResponse? open));
        Assert.Equal(Errno.EBADMSG, open!.Errno);
        Assert.False(MessageCodec.TryDecode(new byte[] { 0xFF, 0xFF, 0xFF }, out OpenResponse? _));
    }

    [Fact]
    public unsafe void FdsTravelInScmRights()
    {
        (int a, int b) = GoferHarness.SocketPair();
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "through the socket");
        int fd = Files.OpenAt(PathConsts.AT_FDCWD, path, OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        Assert.Equal(0, PacketSocket.Send(a, "hdr"u8, fd));
        FileDescriptor.Close(fd);
        byte[] buffer = new byte[16];
        Span<int> fds = stackalloc int[1];
        Assert.Equal(3, PacketSocket.Receive(b, buffer, fds, out int count, out bool truncated));
        Assert.Equal((1, false), (count, truncated));
        using (var s = GoferHarness.Stream(fds[0], FileAccess.Read))
        using (var reader = new StreamReader(s))
        {
            Assert.Equal("through the socket", reader.ReadToEnd());
        }
        Assert.Equal(0, PacketSocket.Send(a, new byte[40], -1));
        Assert.Equal(16, PacketSocket.Receive(b, buffer, fds, out count, out truncated));
        Assert.True(truncated); // larger than the buffer: reported, rest discarded
        FileDescriptor.Close(a);
        Assert.Equal(0, PacketSocket.Receive(b, buffer, fds, out _, out _)); // peer closed
        FileDescriptor.Close(b);
        File.Delete(path);
    }
}
