using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class FileSyscallTests
{
    private const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;

    [Fact]
    public void CreateWriteSeekReadAndFstat()
    {
        var f = new FilesFixture();
        int fd = f.Open("/hello.txt", OpenFlags.O_CREAT | O_RDWR, 0x1a4);
        Assert.Equal(11, f.Write(fd, "hello world"));
        Assert.Equal(0, f.Call(8, (ulong)fd, 0, 0)); // lseek SEEK_SET
        Assert.Equal("hello world", f.Read(fd));
        ulong st = f.Mem.Alloc(144);
        Assert.Equal(0, f.Call(5, (ulong)fd, st));
        var stat = f.Mem.Get(st, 144);
        Assert.Equal(11L, BitConverter.ToInt64(stat, 48)); // st_size
        Assert.Equal(0x81a4u, BitConverter.ToUInt32(stat, 24)); // st_mode: regular 0644
        Assert.Equal(0, f.Call(3, (ulong)fd));
        Assert.Equal(-Errno.EBADF, f.Call(3, (ulong)fd));
    }

    [Fact]
    public void OpenFlagsFollowLinuxRules()
    {
        var f = new FilesFixture();
        ulong path = f.Mem.Str("/x");
        Assert.Equal(-Errno.ENOENT, f.Call(257, FilesFixture.AT_FDCWD, path, O_RDONLY));
        int fd = (int)f.Call(257, FilesFixture.AT_FDCWD, path, (ulong)(OpenFlags.O_CREAT | OpenFlags.O_EXCL | O_WRONLY), 0x1a4);
        Assert.True(fd >= 0);
        Assert.Equal(-Errno.EEXIST, f.Call(257, FilesFixture.AT_FDCWD, path, (ulong)(OpenFlags.O_CREAT | OpenFlags.O_EXCL | O_WRONLY), 0x1a4));
        Assert.Equal(-Errno.ENOTDIR, f.Call(257, FilesFixture.AT_FDCWD, path, (ulong)OpenFlags.O_DIRECTORY));
        Assert.Equal(-Errno.EISDIR, f.Call(257, FilesFixture.AT_FDCWD, f.Mem.Str("/"), O_WRONLY));
        Assert.Equal(-Errno.EBADF, f.Call(0, (ulong)fd, f.Mem.Alloc(8), 8)); // write-only fd
        f.Kernel.Vfs.Symlink(f.Task, "/x", PathConsts.AT_FDCWD, "/lnk");
        Assert.Equal(-Errno.ELOOP, f.Call(257, FilesFixture.AT_FDCWD, f.Mem.Str("/lnk"), (ulong)OpenFlags.O_NOFOLLOW));
        Assert.Equal(-Errno.EOPNOTSUPP, f.Call(257, FilesFixture.AT_FDCWD, f.Mem.Str("/"), (ulong)(OpenFlags.O_TMPFILE | O_RDWR), 0x1a4));
    }

    [Fact]
    public void TruncAndAppend()
    {
        var f = new FilesFixture();
        int fd = f.Open("/log", OpenFlags.O_CREAT | O_WRONLY);
        f.Write(fd, "0123456789");
        f.Call(3, (ulong)fd);
        fd = f.Open("/log", O_WRONLY | OpenFlags.O_APPEND);
        f.Call(8, (ulong)fd, 0, 0);
        f.Write(fd, "ab");
        f.Call(3, (ulong)fd);
        fd = f.Open("/log", O_RDONLY);
        Assert.Equal("0123456789ab", f.Read(fd));
        f.Call(3, (ulong)fd);
        fd = f.Open("/log", O_RDWR | OpenFlags.O_TRUNC);
        Assert.Equal("", f.Read(fd));
    }

    [Fact]
    public void DupFamilyAndFcntl()
    {
        var f = new FilesFixture();
        int fd = f.Open("/d", OpenFlags.O_CREAT | O_RDWR);
        long d = f.Call(32, (ulong)fd);
        Assert.Equal(fd + 1, d);
        Assert.Equal(10, f.Call(33, (ulong)fd, 10));
        Assert.Equal(-Errno.EINVAL, f.Call(292, (ulong)fd, (ulong)fd, 0)); // dup3 same fd
        Assert.Equal(12, f.Call(292, (ulong)fd, 12, (ulong)OpenFlags.O_CLOEXEC));
        Assert.Equal(1, f.Call(72, 12, 1)); // F_GETFD
        Assert.Equal(0, f.Call(72, 10, 1));
        Assert.Equal(20, f.Call(72, (ulong)fd, 1030, 20)); // F_DUPFD_CLOEXEC
        Assert.Equal(1, f.Call(72, 20, 1));
        // Shared offset: writing through one fd moves the other's offset.
        f.Write(fd, "abc");
        Assert.Equal(3, f.Call(8, 10, 0, 1));
        // F_SETFL changes O_APPEND/O_NONBLOCK only.
        Assert.Equal(0, f.Call(72, (ulong)fd, 4, (ulong)(OpenFlags.O_NONBLOCK | O_WRONLY)));
        long fl = f.Call(72, 10, 3);
        Assert.Equal(O_RDWR, fl & 3);
        Assert.NotEqual(0, fl & OpenFlags.O_NONBLOCK);
    }

    [Fact]
    public void Getdents64ListsEntriesAcrossSmallBuffers()
    {
        var f = new FilesFixture();
        var vfs = f.Kernel.Vfs;
        vfs.Mkdir(f.Task, PathConsts.AT_FDCWD, "/dir", 0x1ed);
        var expected = new HashSet<string> { ".", ".." };
        for (int i = 0; i < 20; i++)
        {
            string name = $"file-with-a-long-name-{i}";
            expected.Add(name);
            f.Task.Fds.Close(f.Open("/dir/" + name, OpenFlags.O_CREAT | O_WRONLY));
        }
        int fd = f.Open("/dir", OpenFlags.O_DIRECTORY);
        var seen = new HashSet<string>();
        ulong buf = f.Mem.Alloc(128);
        Assert.Equal(-Errno.EINVAL, f.Call(217, (ulong)fd, buf, 10));
        while (true)
        {
            long n = f.Call(217, (ulong)fd, buf, 128);
            Assert.True(n >= 0);
            if (n == 0) break;
            var b = f.Mem.Get(buf, (int)n);
            for (int off = 0; off < n;)
            {
                int reclen = BitConverter.ToUInt16(b, off + 16);
                int end = Array.IndexOf(b, (byte)0, off + 19);
                seen.Add(Encoding.UTF8.GetString(b, off + 19, end - off - 19));
                off += reclen;
            }
        }
        Assert.Equal(expected, seen);
    }

    [Fact]
    public void MkdirRenameUnlinkRmdir()
    {
        var f = new FilesFixture();
        Assert.Equal(0, f.Call(83, f.Mem.Str("/a"), 0x1ed));
        Assert.Equal(-Errno.EEXIST, f.Call(83, f.Mem.Str("/a"), 0x1ed));
        f.Task.Fds.Close(f.Open("/a/f", OpenFlags.O_CREAT | O_WRONLY));
        Assert.Equal(-Errno.ENOTEMPTY, f.Call(84, f.Mem.Str("/a")));
        Assert.Equal(-Errno.EISDIR, f.Call(87, f.Mem.Str("/a")));
        Assert.Equal(0, f.Call(82, f.Mem.Str("/a/f"), f.Mem.Str("/g")));
        Assert.Equal(-Errno.ENOENT, f.Call(21, f.Mem.Str("/a/f"), 0));
        Assert.Equal(0, f.Call(21, f.Mem.Str("/g"), 0));
        Assert.Equal(-Errno.EINVAL, f.Call(82, f.Mem.Str("/a"), f.Mem.Str("/a/sub")));
        Assert.Equal(0, f.Call(84, f.Mem.Str("/a")));
        Assert.Equal(-Errno.ENOTDIR, f.Call(84, f.Mem.Str("/g")));
        Assert.Equal(0, f.Call(87, f.Mem.Str("/g")));
        Assert.Equal(-Errno.ENOENT, f.Call(87, f.Mem.Str("/g")));
    }

    [Fact]
    public void OpenFileSurvivesUnlink()
    {
        var f = new FilesFixture();
        int fd = f.Open("/tmpf", OpenFlags.O_CREAT | O_RDWR);
        f.Write(fd, "still here");
        Assert.Equal(0, f.Call(87, f.Mem.Str("/tmpf")));
        f.Call(8, (ulong)fd, 0, 0);
        Assert.Equal("still here", f.Read(fd));
    }

    [Fact]
    public void GetcwdChdirAndReadlink()
    {
        var f = new FilesFixture();
        f.Call(83, f.Mem.Str("/work"), 0x1ed);
        f.Call(83, f.Mem.Str("/work/sub"), 0x1ed);
        Assert.Equal(0, f.Call(80, f.Mem.Str("/work/sub")));
        ulong buf = f.Mem.Alloc(64);
        Assert.Equal(10, f.Call(79, buf, 64));
        Assert.Equal("/work/sub\0", Encoding.UTF8.GetString(f.Mem.Get(buf, 10)));
        Assert.Equal(-Errno.ERANGE, f.Call(79, buf, 5));
        Assert.Equal(0, f.Call(88, f.Mem.Str("../target"), f.Mem.Str("rel")));
        long n = f.Call(89, f.Mem.Str("rel"), buf, 64);
        Assert.Equal("../target", Encoding.UTF8.GetString(f.Mem.Get(buf, (int)n)));
        Assert.Equal(-Errno.EINVAL, f.Call(89, f.Mem.Str("/work"), buf, 64));
    }

    [Fact]
    public void DevNullZeroAndFull()
    {
        var f = new FilesFixture();
        int nul = f.Open("/dev/null", O_RDWR);
        Assert.Equal(5, f.Write(nul, "hello"));
        Assert.Equal("", f.Read(nul));
        int zero = f.Open("/dev/zero", O_RDONLY);
        ulong buf = f.Mem.Alloc(16);
        f.Mem.Write(buf, Enumerable.Repeat((byte)7, 16).ToArray());
        Assert.Equal(16, f.Call(0, (ulong)zero, buf, 16));
        Assert.All(f.Mem.Get(buf, 16), b => Assert.Equal(0, b));
        int full = f.Open("/dev/full", O_WRONLY);
        Assert.Equal(-Errno.ENOSPC, f.Write(full, "x"));
        // /dev/stdin is a symlink to /proc/self/fd/0.
        ulong lb = f.Mem.Alloc(64);
        long n = f.Call(89, f.Mem.Str("/dev/stdin"), lb, 64);
        Assert.Equal("/proc/self/fd/0", Encoding.UTF8.GetString(f.Mem.Get(lb, (int)n)));
    }

    [Fact]
    public void ProcSelfFdLinksNameOpenFiles()
    {
        var f = new FilesFixture();
        int fd = f.Open("/some-file", OpenFlags.O_CREAT | O_RDWR);
        ulong buf = f.Mem.Alloc(128);
        long n = f.Call(89, f.Mem.Str($"/proc/self/fd/{fd}"), buf, 128);
        Assert.Equal("/some-file", Encoding.UTF8.GetString(f.Mem.Get(buf, (int)n)));
        // Opening the magic link reaches the same file.
        f.Write(fd, "via-proc");
        int again = f.Open($"/proc/self/fd/{fd}", O_RDONLY);
        Assert.Equal("via-proc", f.Read(again));
    }

    [Fact]
    public void ReadvWritevScatterGather()
    {
        var f = new FilesFixture();
        int fd = f.Open("/v", OpenFlags.O_CREAT | O_RDWR);
        ulong a = f.Mem.Put(Encoding.ASCII.GetBytes("abc"));
        ulong b = f.Mem.Put(Encoding.ASCII.GetBytes("defgh"));
        var iov = new byte[32];
        BitConverter.TryWriteBytes(iov.AsSpan(0), a); BitConverter.TryWriteBytes(iov.AsSpan(8), 3L);
        BitConverter.TryWriteBytes(iov.AsSpan(16), b); BitConverter.TryWriteBytes(iov.AsSpan(24), 5L);
        Assert.Equal(8, f.Call(20, (ulong)fd, f.Mem.Put(iov), 2));
        ulong r1 = f.Mem.Alloc(4), r2 = f.Mem.Alloc(8);
        BitConverter.TryWriteBytes(iov.AsSpan(0), r1); BitConverter.TryWriteBytes(iov.AsSpan(8), 4L);
        BitConverter.TryWriteBytes(iov.AsSpan(16), r2); BitConverter.TryWriteBytes(iov.AsSpan(24), 8L);
        Assert.Equal(8, f.Call(295, (ulong)fd, f.Mem.Put(iov), 2, 0)); // preadv at 0
        Assert.Equal("abcd", Encoding.ASCII.GetString(f.Mem.Get(r1, 4)));
        Assert.Equal("efgh", Encoding.ASCII.GetString(f.Mem.Get(r2, 4)));
    }
}
