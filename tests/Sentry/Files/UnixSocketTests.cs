using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class UnixSocketTests
{
    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;

    private static (int, int) Pair(FilesFixture f, int type)
    {
        ulong sv = f.Mem.Alloc(8);
        Assert.Equal(0, f.Call(53, AF_UNIX, (ulong)type, 0, sv));
        var b = f.Mem.Get(sv, 8);
        return (BitConverter.ToInt32(b, 0), BitConverter.ToInt32(b, 4));
    }

    private static ulong Addr(FilesFixture f, string path, out ulong len)
    {
        var b = new byte[2 + Encoding.UTF8.GetByteCount(path) + 1];
        b[0] = 1;
        Encoding.UTF8.GetBytes(path).CopyTo(b, 2);
        if (path.StartsWith('\0')) Array.Resize(ref b, b.Length - 1);
        len = (ulong)b.Length;
        return f.Mem.Put(b);
    }

    [Fact]
    public void SocketpairStreamCarriesDataBothWaysAndEof()
    {
        var f = new FilesFixture();
        var (a, b) = Pair(f, SOCK_STREAM);
        Assert.Equal(4, f.Write(a, "ping"));
        Assert.Equal("ping", f.Read(b));
        Assert.Equal(4, f.Write(b, "pong"));
        Assert.Equal("pong", f.Read(a));
        f.Call(3, (ulong)a);
        Assert.Equal("", f.Read(b));
        Assert.Equal(-Errno.EPIPE, f.Write(b, "x"));
    }

    [Fact]
    public void SeqpacketKeepsMessageBoundaries()
    {
        var f = new FilesFixture();
        var (a, b) = Pair(f, SOCK_SEQPACKET);
        f.Write(a, "one");
        f.Write(a, "two");
        Assert.Equal("one", f.Read(b));
        Assert.Equal("two", f.Read(b));
    }

    [Fact]
    public void ListenConnectAcceptOnAPath()
    {
        var f = new FilesFixture();
        int srv = (int)f.Call(41, AF_UNIX, SOCK_STREAM, 0);
        ulong addr = Addr(f, "/sock", out ulong len);
        Assert.Equal(0, f.Call(49, (ulong)srv, addr, len));
        Assert.Equal(-Errno.EADDRINUSE, f.Call(49, (ulong)(int)f.Call(41, AF_UNIX, SOCK_STREAM, 0), addr, len));
        ulong st = f.Mem.Alloc(144);
        Assert.Equal(0, f.Call(6, f.Mem.Str("/sock"), st));
        Assert.Equal(0xC000u, BitConverter.ToUInt32(f.Mem.Get(st, 144), 24) & 0xF000u);
        Assert.Equal(0, f.Call(50, (ulong)srv, 5));
        int cli = (int)f.Call(41, AF_UNIX, SOCK_STREAM, 0);
        Assert.Equal(0, f.Call(42, (ulong)cli, addr, len));
        int conn = (int)f.Call(43, (ulong)srv, 0, 0);
        Assert.True(conn >= 0);
        f.Write(cli, "hello server");
        Assert.Equal("hello server", f.Read(conn));
        // SO_PEERCRED reports the connecting task's uid.
        ulong cred = f.Mem.Alloc(12), clen = f.Mem.Put(BitConverter.GetBytes(12));
        Assert.Equal(0, f.Call(55, (ulong)conn, 1, 17, cred, clen));
        Assert.Equal(0u, BitConverter.ToUInt32(f.Mem.Get(cred, 12), 4));
        int other = (int)f.Call(41, AF_UNIX, SOCK_STREAM, 0);
        Assert.Equal(-Errno.ENOENT, f.Call(42, (ulong)other, Addr(f, "/nothing-here", out ulong l2), l2));
        // A socket file whose socket is closed refuses connections.
        f.Call(3, (ulong)srv);
        Assert.Equal(-Errno.ECONNREFUSED, f.Call(42, (ulong)other, addr, len));
    }

    [Fact]
    public void ScmRightsPassesAnOpenFile()
    {
        var f = new FilesFixture();
        var (a, b) = Pair(f, SOCK_STREAM);
        int file = f.Open("/passed", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
        f.Write(file, "shared offset");
        // sendmsg with one byte and SCM_RIGHTS [file].
        ulong data = f.Mem.Put(new byte[] { (byte)'!' });
        var iov = new byte[16];
        BitConverter.TryWriteBytes(iov.AsSpan(0), data); BitConverter.TryWriteBytes(iov.AsSpan(8), 1L);
        ulong iovp = f.Mem.Put(iov);
        var cmsg = new byte[24];
        BitConverter.TryWriteBytes(cmsg.AsSpan(0), 20L); BitConverter.TryWriteBytes(cmsg.AsSpan(8), 1); BitConverter.TryWriteBytes(cmsg.AsSpan(12), 1);
        BitConverter.TryWriteBytes(cmsg.AsSpan(16), file);
        var msg = new byte[56];
        BitConverter.TryWriteBytes(msg.AsSpan(16), iovp); BitConverter.TryWriteBytes(msg.AsSpan(24), 1L);
        BitConverter.TryWriteBytes(msg.AsSpan(32), f.Mem.Put(cmsg)); BitConverter.TryWriteBytes(msg.AsSpan(40), 24L);
        Assert.Equal(1, f.Call(46, (ulong)a, f.Mem.Put(msg), 0));
        f.Call(3, (ulong)file);
        // recvmsg into a fresh control buffer.
        ulong rdata = f.Mem.Alloc(8);
        BitConverter.TryWriteBytes(iov.AsSpan(0), rdata); BitConverter.TryWriteBytes(iov.AsSpan(8), 8L);
        ulong rctl = f.Mem.Alloc(64);
        var rmsg = new byte[56];
        BitConverter.TryWriteBytes(rmsg.AsSpan(16), f.Mem.Put(iov)); BitConverter.TryWriteBytes(rmsg.AsSpan(24), 1L);
        BitConverter.TryWriteBytes(rmsg.AsSpan(32), rctl); BitConverter.TryWriteBytes(rmsg.AsSpan(40), 64L);
        ulong rmsgp = f.Mem.Put(rmsg);
        Assert.Equal(1, f.Call(47, (ulong)b, rmsgp, 0));
        var ctl = f.Mem.Get(rctl, 20);
        Assert.Equal(1, BitConverter.ToInt32(ctl, 12));
        int got = BitConverter.ToInt32(ctl, 16);
        // The received fd shares the file description (and its offset) with the sent one.
        Assert.Equal(13, f.Call(8, (ulong)got, 0, 1));
        f.Call(8, (ulong)got, 0, 0);
        Assert.Equal("shared offset", f.Read(got));
    }

    [Fact]
    public void DatagramsToAnAbstractAddress()
    {
        var f = new FilesFixture();
        int srv = (int)f.Call(41, AF_UNIX, SOCK_DGRAM, 0);
        ulong addr = Addr(f, "\0abstract-name", out ulong len);
        Assert.Equal(0, f.Call(49, (ulong)srv, addr, len));
        int cli = (int)f.Call(41, AF_UNIX, SOCK_DGRAM, 0);
        ulong d1 = f.Mem.Put(Encoding.ASCII.GetBytes("dgram-1"));
        Assert.Equal(7, f.Call(44, (ulong)cli, d1, 7, 0, addr, len));
        Assert.Equal(7, f.Call(44, (ulong)cli, d1, 7, 0, addr, len));
        ulong buf = f.Mem.Alloc(4);
        Assert.Equal(4, f.Call(45, (ulong)srv, buf, 4, 0, 0, 0));
        Assert.Equal("dgra", Encoding.ASCII.GetString(f.Mem.Get(buf, 4)));
        // The truncated rest of the first datagram is gone; the second one is whole.
        Assert.Equal(7, f.Call(45, (ulong)srv, f.Mem.Alloc(16), 16, 0, 0, 0));
        f.Call(3, (ulong)srv);
        Assert.Equal(-Errno.ECONNREFUSED, f.Call(44, (ulong)cli, d1, 7, 0, addr, len));
    }
}
