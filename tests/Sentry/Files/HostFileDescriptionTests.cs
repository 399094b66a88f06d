using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Host;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class HostFileDescriptionTests
{
    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern unsafe int pipe2(int* fds, int flags);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern unsafe nint write(int fd, byte* buf, nint count);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int close(int fd);

    private static unsafe (int R, int W) HostPipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, pipe2(fds, 0x80000));
        return (fds[0], fds[1]);
    }

    private static unsafe void HostWrite(int fd, string s)
    {
        var b = Encoding.ASCII.GetBytes(s);
        fixed (byte* p = b) Assert.Equal(b.Length, (int)write(fd, p, b.Length));
    }

    [Fact]
    public void BlockedReadOfHostPipeIsInterruptibleAndThenReadsData()
    {
        var f = new FilesFixture();
        var (r, w) = HostPipe();
        int fd = f.Task.Fds.InstallNew(HostFileDescription.FromHostFd(r), false);
        var interrupter = new Thread(() => { Thread.Sleep(50); f.Task.Interrupt(); });
        interrupter.Start();
        Assert.Equal(-Errno.ERESTARTSYS, f.Call(0, (ulong)fd, f.Mem.Alloc(16), 16));
        interrupter.Join();
        f.Task.ClearInterrupt();
        var writer = new Thread(() => { Thread.Sleep(50); HostWrite(w, "from host"); });
        writer.Start();
        Assert.Equal("from host", f.Read(fd));
        writer.Join();
        close(w);
        Assert.Equal("", f.Read(fd));
    }

    [Fact]
    public void WritesReachTheHostFdAndAccessModeIsTheHostOne()
    {
        var f = new FilesFixture();
        var (r, w) = HostPipe();
        int wfd = f.Task.Fds.InstallNew(HostFileDescription.FromHostFd(w), false);
        int rfd = f.Task.Fds.InstallNew(HostFileDescription.FromHostFd(r), false);
        Assert.Equal(5, f.Write(wfd, "abcde"));
        Assert.Equal(-Errno.EBADF, f.Write(rfd, "x"));
        Assert.Equal("abcde", f.Read(rfd));
        // Non-blocking read with nothing buffered.
        Assert.Equal(0, f.Call(72, (ulong)rfd, 4, (ulong)OpenFlags.O_NONBLOCK));
        Assert.Equal(-Errno.EAGAIN, f.Call(0, (ulong)rfd, f.Mem.Alloc(8), 8));
        // Not a terminal.
        Assert.Equal(-Errno.ENOTTY, f.Call(16, (ulong)wfd, 0x5401, f.Mem.Alloc(64)));
    }
}
