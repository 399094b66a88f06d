using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class LockTests
{
    private static RunscNet.Sentry.Kernel.Task Other(FilesFixture f)
        => new(f.Kernel, 2, Credentials.Root, f.Mem) { Fds = f.Task.Fds.Fork() };

    private static ulong Flock(FilesFixture f, short type, long start, long len)
    {
        var b = new byte[32];
        BitConverter.TryWriteBytes(b.AsSpan(0), type);
        BitConverter.TryWriteBytes(b.AsSpan(8), start);
        BitConverter.TryWriteBytes(b.AsSpan(16), len);
        return f.Mem.Put(b);
    }

    [Fact]
    public void FlockExcludesOtherDescriptionsUntilUnlocked()
    {
        var f = new FilesFixture();
        int a = f.Open("/lockfile", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
        int b = f.Open("/lockfile", OpenFlags.O_RDWR);
        Assert.Equal(0, f.Call(73, (ulong)a, 2)); // LOCK_EX
        Assert.Equal(-Errno.EAGAIN, f.Call(73, (ulong)b, 2 | 4));
        Assert.Equal(-Errno.EAGAIN, f.Call(73, (ulong)b, 1 | 4));
        // A dup shares the description, so it shares the lock.
        int d = (int)f.Call(32, (ulong)a);
        Assert.Equal(0, f.Call(73, (ulong)d, 2 | 4));
        Assert.Equal(0, f.Call(73, (ulong)a, 8)); // LOCK_UN
        Assert.Equal(0, f.Call(73, (ulong)b, 1 | 4));
        Assert.Equal(0, f.Call(73, (ulong)a, 1 | 4)); // shared + shared
        Assert.Equal(-Errno.EAGAIN, f.Call(73, (ulong)a, 2 | 4));
        // Closing the last fd of b's description drops its lock.
        f.Call(3, (ulong)b);
        Assert.Equal(0, f.Call(73, (ulong)a, 2 | 4));
    }

    [Fact]
    public void RecordLocksConflictBetweenProcessesOnOverlappingRanges()
    {
        var f = new FilesFixture();
        int fd = f.Open("/records", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
        var other = Other(f);
        Assert.Equal(0, f.Call(72, (ulong)fd, 6, Flock(f, 1, 0, 100))); // F_SETLK write [0,100)
        Assert.Equal(-Errno.EAGAIN, FilesFixture.Call(other, 72, (ulong)fd, 6, Flock(f, 0, 50, 10)));
        Assert.Equal(0, FilesFixture.Call(other, 72, (ulong)fd, 6, Flock(f, 1, 100, 10)));
        ulong q = Flock(f, 0, 90, 20);
        Assert.Equal(0, FilesFixture.Call(other, 72, (ulong)fd, 5, q)); // F_GETLK
        var got = f.Mem.Get(q, 32);
        Assert.Equal(1, BitConverter.ToInt16(got, 0));
        Assert.Equal(0L, BitConverter.ToInt64(got, 8));
        Assert.Equal(100L, BitConverter.ToInt64(got, 16));
        // Unlocking the middle splits the range; the freed part can be taken.
        Assert.Equal(0, f.Call(72, (ulong)fd, 6, Flock(f, 2, 40, 20)));
        Assert.Equal(0, FilesFixture.Call(other, 72, (ulong)fd, 6, Flock(f, 1, 45, 5)));
        Assert.Equal(-Errno.EAGAIN, FilesFixture.Call(other, 72, (ulong)fd, 6, Flock(f, 1, 30, 5)));
        // Closing any fd of the file drops the closing process's locks.
        int dup = (int)f.Call(32, (ulong)fd);
        f.Call(3, (ulong)dup);
        Assert.Equal(0, FilesFixture.Call(other, 72, (ulong)fd, 6, Flock(f, 1, 0, 40)));
    }
}
