using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class PollTests
{
    private static (int R, int W) MakePipe(FilesFixture f)
    {
        ulong fds = f.Mem.Alloc(8);
        Assert.Equal(0, f.Call(293, fds, 0));
        var b = f.Mem.Get(fds, 8);
        return (BitConverter.ToInt32(b, 0), BitConverter.ToInt32(b, 4));
    }

    private static ulong PollFds(FilesFixture f, params (int Fd, short Events)[] entries)
    {
        var b = new byte[entries.Length * 8];
        for (int i = 0; i < entries.Length; i++)
        {
            BitConverter.TryWriteBytes(b.AsSpan(i * 8), entries[i].Fd);
            BitConverter.TryWriteBytes(b.AsSpan(i * 8 + 4), entries[i].Events);
        }
        return f.Mem.Put(b);
    }

    [Fact]
    public void PollReportsPipeReadinessAndHangup()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f);
        ulong p = PollFds(f, (r, PollEvents.POLLIN), (w, PollEvents.POLLOUT), (99, PollEvents.POLLIN));
        Assert.Equal(2, f.Call(7, p, 3, 0));
        var b = f.Mem.Get(p, 24);
        Assert.Equal(0, BitConverter.ToInt16(b, 6));
        Assert.Equal(PollEvents.POLLOUT, BitConverter.ToInt16(b, 14));
        Assert.Equal(PollEvents.POLLNVAL, BitConverter.ToInt16(b, 22));
        f.Write(w, "x");
        f.Call(3, (ulong)w);
        p = PollFds(f, (r, PollEvents.POLLIN));
        Assert.Equal(1, f.Call(7, p, 1, unchecked((ulong)-1)));
        Assert.Equal(PollEvents.POLLIN | PollEvents.POLLHUP, BitConverter.ToInt16(f.Mem.Get(p, 8), 6));
    }

    [Fact]
    public void PollTimesOutWithZero()
    {
        var f = new FilesFixture();
        var (r, _) = MakePipe(f);
        Assert.Equal(0, f.Call(7, PollFds(f, (r, PollEvents.POLLIN)), 1, 10));
    }

    [Fact]
    public void EpollWaitsForEventfd()
    {
        var f = new FilesFixture();
        int ep = (int)f.Call(291, 0);
        int efd = (int)f.Call(290, 0, (ulong)OpenFlags.O_NONBLOCK);
        var ev = new byte[12];
        BitConverter.TryWriteBytes(ev.AsSpan(0), (uint)PollEvents.POLLIN);
        BitConverter.TryWriteBytes(ev.AsSpan(4), 0xdeadbeefUL);
        Assert.Equal(0, f.Call(233, (ulong)ep, 1, (ulong)efd, f.Mem.Put(ev)));
        Assert.Equal(-Errno.EEXIST, f.Call(233, (ulong)ep, 1, (ulong)efd, f.Mem.Put(ev)));
        ulong outp = f.Mem.Alloc(24);
        Assert.Equal(0, f.Call(232, (ulong)ep, outp, 2, 0));
        Assert.Equal(-Errno.EAGAIN, f.Call(0, (ulong)efd, f.Mem.Alloc(8), 8));
        var other = new RunscNet.Sentry.Kernel.Task(f.Kernel, 2, Credentials.Root, new ArrayMemory()) { Fds = f.Task.Fds };
        var t = new Thread(() =>
        {
            var m = (ArrayMemory)other.Memory;
            Thread.Sleep(30);
            FilesFixture.Call(other, 1, (ulong)efd, m.Put(BitConverter.GetBytes(5UL)), 8);
        });
        t.Start();
        Assert.Equal(1, f.Call(232, (ulong)ep, outp, 2, unchecked((ulong)-1)));
        t.Join();
        var got = f.Mem.Get(outp, 12);
        Assert.Equal((uint)PollEvents.POLLIN, BitConverter.ToUInt32(got, 0));
        Assert.Equal(0xdeadbeefUL, BitConverter.ToUInt64(got, 4));
        ulong rb = f.Mem.Alloc(8);
        Assert.Equal(8, f.Call(0, (ulong)efd, rb, 8));
        Assert.Equal(5UL, BitConverter.ToUInt64(f.Mem.Get(rb, 8)));
        Assert.Equal(0, f.Call(232, (ulong)ep, outp, 2, 0));
    }

    [Fact]
    public void SelectReportsReadableFdAndEbadfForClosedOne()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f);
        f.Write(w, "hi");
        var set = new byte[8];
        set[r / 8] |= (byte)(1 << (r % 8));
        ulong rs = f.Mem.Put(set);
        ulong tv = f.Mem.Put(new byte[16]);
        Assert.Equal(1, f.Call(23, (ulong)(r + 1), rs, 0, 0, tv));
        Assert.Equal(set[r / 8], f.Mem.Get(rs, 8)[r / 8]);
        set[7] = 0x80; // fd 63, not open
        Assert.Equal(-Errno.EBADF, f.Call(23, 64, f.Mem.Put(set), 0, 0, tv));
    }
}
