using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class PipeTests
{
    private static (int R, int W) MakePipe(FilesFixture f, int flags = 0)
    {
        ulong fds = f.Mem.Alloc(8);
        Assert.Equal(0, f.Call(293, fds, (ulong)flags));
        var b = f.Mem.Get(fds, 8);
        return (BitConverter.ToInt32(b, 0), BitConverter.ToInt32(b, 4));
    }

    [Fact]
    public void DataFlowsAndEofAfterWritersClose()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f);
        Assert.Equal(5, f.Write(w, "hello"));
        Assert.Equal("hel", f.Read(r, 3));
        Assert.Equal("lo", f.Read(r));
        f.Call(3, (ulong)w);
        Assert.Equal("", f.Read(r));
    }

    [Fact]
    public void WriteWithoutReadersIsEpipe()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f);
        f.Call(3, (ulong)r);
        Assert.Equal(-Errno.EPIPE, f.Write(w, "x"));
    }

    [Fact]
    public void NonBlockingEndsGiveEagain()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f, OpenFlags.O_NONBLOCK);
        Assert.Equal(-Errno.EAGAIN, f.Call(0, (ulong)r, f.Mem.Alloc(8), 8));
        Assert.Equal(65536, f.Call(72, (ulong)w, 1032)); // F_GETPIPE_SZ
        ulong big = f.Mem.Alloc(70000);
        Assert.Equal(65536, f.Call(1, (ulong)w, big, 70000));
        Assert.Equal(-Errno.EAGAIN, f.Call(1, (ulong)w, big, 1));
        // Free 100 bytes: an atomic write of 4096 still does not fit.
        f.Call(0, (ulong)r, f.Mem.Alloc(100), 100);
        Assert.Equal(-Errno.EAGAIN, f.Call(1, (ulong)w, big, 4096));
        Assert.Equal(100, f.Call(1, (ulong)w, big, 5000));
    }

    [Fact]
    public void SetPipeSizeRoundsUpAndRefusesShrinkBelowContent()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f, OpenFlags.O_NONBLOCK);
        Assert.Equal(8192, f.Call(72, (ulong)w, 1031, 5000));
        Assert.Equal(8192, f.Call(72, (ulong)r, 1032));
        f.Call(1, (ulong)w, f.Mem.Alloc(6000), 6000);
        Assert.Equal(-Errno.EBUSY, f.Call(72, (ulong)w, 1031, 4096));
    }

    [Fact]
    public void BlockedReadIsWokenByWriterFromAnotherTask()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f);
        var writerTask = new RunscNet.Sentry.Kernel.Task(f.Kernel, 2, Credentials.Root, new ArrayMemory());
        writerTask.Fds = f.Task.Fds;
        var writer = new Thread(() =>
        {
            var mem = (ArrayMemory)writerTask.Memory;
            ulong p = mem.Put(System.Text.Encoding.ASCII.GetBytes("late"));
            Thread.Sleep(50);
            FilesFixture.Call(writerTask, 1, (ulong)w, p, 4);
        });
        writer.Start();
        Assert.Equal("late", f.Read(r));
        writer.Join();
    }

    [Fact]
    public void BlockedReadIsInterruptedBySignal()
    {
        var f = new FilesFixture();
        var (r, _) = MakePipe(f);
        var interrupter = new Thread(() => { Thread.Sleep(50); f.Task.Interrupt(); });
        interrupter.Start();
        Assert.Equal(-Errno.ERESTARTSYS, f.Call(0, (ulong)r, f.Mem.Alloc(8), 8));
        interrupter.Join();
    }

    [Fact]
    public void ProcSelfFdOfAPipeReopensThePipe()
    {
        var f = new FilesFixture();
        var (r, w) = MakePipe(f);
        // As bash's process substitution and "echo x > /dev/stderr" do.
        int w2 = f.Open($"/proc/self/fd/{w}", OpenFlags.O_WRONLY);
        Assert.Equal(3, f.Write(w2, "abc"));
        int r2 = f.Open($"/dev/fd/{r}", OpenFlags.O_RDONLY);
        Assert.Equal("abc", f.Read(r2));
        ulong st = f.Mem.Alloc(144);
        Assert.Equal(0, f.Call(4, f.Mem.Str($"/proc/self/fd/{r}"), st));
        Assert.Equal(0x1000u, BitConverter.ToUInt32(f.Mem.Get(st, 144), 24) & 0xF000u);
        // fstat through newfstatat(fd, "", AT_EMPTY_PATH), as glibc does it.
        Assert.Equal(0, f.Call(262, (ulong)r, f.Mem.Str(""), st, (ulong)PathConsts.AT_EMPTY_PATH));
        Assert.Equal(0x1000u, BitConverter.ToUInt32(f.Mem.Get(st, 144), 24) & 0xF000u);
    }
}
