using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class TmpfsAndProcTests
{
    private static readonly Credentials User = new(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, Array.Empty<uint>(), 0, 0, 0, 0);

    private static long StatField(FilesFixture f, string path, int offset, int size = 8)
    {
        ulong st = f.Mem.Alloc(144);
        long r = f.Call(6, f.Mem.Str(path), st);
        Assert.Equal(0, r);
        var b = f.Mem.Get(st, 144);
        return size == 8 ? BitConverter.ToInt64(b, offset) : BitConverter.ToUInt32(b, offset);
    }

    [Fact]
    public void HardLinksShareDataAndCountLinks()
    {
        var f = new FilesFixture();
        int fd = f.Open("/a", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
        f.Write(fd, "shared");
        Assert.Equal(0, f.Call(86, f.Mem.Str("/a"), f.Mem.Str("/b")));
        Assert.Equal(2, StatField(f, "/a", 16));
        Assert.Equal(StatField(f, "/a", 8), StatField(f, "/b", 8)); // same inode number
        Assert.Equal("shared", f.Read(f.Open("/b", OpenFlags.O_RDONLY)));
        Assert.Equal(0, f.Call(87, f.Mem.Str("/a")));
        Assert.Equal(1, StatField(f, "/b", 16));
        Assert.Equal(-Errno.EPERM, f.Call(86, f.Mem.Str("/"), f.Mem.Str("/dirlink")));
    }

    [Fact]
    public void StickyDirectoryProtectsOtherUsersFiles()
    {
        var f = new FilesFixture();
        f.Call(83, f.Mem.Str("/shared"), 0x3ff); // 1777
        f.Call(90, f.Mem.Str("/shared"), 0x3ff);
        f.Task.Fds.Close(f.Open("/shared/roots", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        var user = new RunscNet.Sentry.Kernel.Task(f.Kernel, 2, User, f.Mem);
        Assert.Equal(-Errno.EPERM, FilesFixture.Call(user, 87, f.Mem.Str("/shared/roots")));
        long fd = FilesFixture.Call(user, 257, FilesFixture.AT_FDCWD, f.Mem.Str("/shared/mine"), (ulong)(OpenFlags.O_CREAT | OpenFlags.O_WRONLY), 0x1a4);
        Assert.True(fd >= 0);
        Assert.Equal(1000, StatField(f, "/shared/mine", 28, 4));
        Assert.Equal(0, FilesFixture.Call(user, 87, f.Mem.Str("/shared/mine")));
        // Non-owners may not chmod; the owner may.
        Assert.Equal(-Errno.EPERM, FilesFixture.Call(user, 90, f.Mem.Str("/shared/roots"), 0x1ff));
        Assert.Equal(-Errno.EACCES, FilesFixture.Call(user, 257, FilesFixture.AT_FDCWD, f.Mem.Str("/shared/roots"), (ulong)OpenFlags.O_WRONLY));
    }

    [Fact]
    public void SetGidDirectoryPassesItsGroupOn()
    {
        var f = new FilesFixture();
        f.Call(83, f.Mem.Str("/g"), 0x1ff);
        Assert.Equal(0, f.Call(92, f.Mem.Str("/g"), unchecked((ulong)-1), 50)); // chown :50
        Assert.Equal(0, f.Call(90, f.Mem.Str("/g"), 0x400 | 0x1ff)); // g+s
        f.Call(83, f.Mem.Str("/g/sub"), 0x1ed);
        Assert.Equal(50, StatField(f, "/g/sub", 32, 4));
        Assert.NotEqual(0, StatField(f, "/g/sub", 24, 4) & 0x400);
    }

    [Fact]
    public void XattrsRoundTripOnTmpfs()
    {
        var f = new FilesFixture();
        f.Task.Fds.Close(f.Open("/x", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        ulong name = f.Mem.Str("user.test"), val = f.Mem.Put(Encoding.ASCII.GetBytes("value"));
        Assert.Equal(0, f.Call(188, f.Mem.Str("/x"), name, val, 5, 0));
        Assert.Equal(-Errno.EEXIST, f.Call(188, f.Mem.Str("/x"), name, val, 5, 1));
        Assert.Equal(5, f.Call(191, f.Mem.Str("/x"), name, 0, 0));
        ulong buf = f.Mem.Alloc(16);
        Assert.Equal(-Errno.ERANGE, f.Call(191, f.Mem.Str("/x"), name, buf, 2));
        Assert.Equal(5, f.Call(191, f.Mem.Str("/x"), name, buf, 16));
        Assert.Equal("value", Encoding.ASCII.GetString(f.Mem.Get(buf, 5)));
        Assert.Equal(0, f.Call(197, f.Mem.Str("/x"), name));
        Assert.Equal(-Errno.ENODATA, f.Call(191, f.Mem.Str("/x"), name, buf, 16));
    }

    [Fact]
    public void ProcReportsTaskStateAndMounts()
    {
        var f = new FilesFixture();
        f.Call(83, f.Mem.Str("/here"), 0x1ed);
        f.Call(80, f.Mem.Str("/here"));
        ulong buf = f.Mem.Alloc(256);
        long n = f.Call(89, f.Mem.Str("/proc/self/cwd"), buf, 256);
        Assert.Equal("/here", Encoding.UTF8.GetString(f.Mem.Get(buf, (int)n)));
        string status = f.Read(f.Open("/proc/self/status", OpenFlags.O_RDONLY), 8192);
        Assert.Contains($"Pid:\t{f.Task.Tid}\n", status);
        Assert.Contains("Uid:\t0\t0\t0\t0\n", status);
        string meminfo = f.Read(f.Open("/proc/meminfo", OpenFlags.O_RDONLY), 8192);
        Assert.StartsWith("MemTotal:", meminfo);
        string mounts = f.Read(f.Open("/proc/mounts", OpenFlags.O_RDONLY), 8192);
        Assert.Contains(" /dev tmpfs ", mounts);
        Assert.Contains(" /proc proc ", mounts);
        // /proc is generated: writes to read-only entries are refused for non-root users.
        var user = new RunscNet.Sentry.Kernel.Task(f.Kernel, 3, User, f.Mem);
        Assert.Equal(-Errno.EACCES, FilesFixture.Call(user, 257, FilesFixture.AT_FDCWD, f.Mem.Str("/proc/meminfo"), (ulong)OpenFlags.O_WRONLY));
    }

    [Fact]
    public void MemfdIsAnUnlinkedTmpfsFile()
    {
        var f = new FilesFixture();
        long fd = f.Call(319, f.Mem.Str("buf"), 1);
        Assert.True(fd >= 0);
        Assert.Equal(1, f.Call(72, (ulong)fd, 1)); // MFD_CLOEXEC → FD_CLOEXEC
        Assert.True(f.Task.Fds.Get((int)fd)!.HostFd >= 0);
        Assert.Equal(0, f.Call(77, (ulong)fd, 8192));
        ulong st = f.Mem.Alloc(144);
        Assert.Equal(0, f.Call(5, (ulong)fd, st));
        Assert.Equal(8192L, BitConverter.ToInt64(f.Mem.Get(st, 144), 48));
        ulong buf = f.Mem.Alloc(64);
        long n = f.Call(89, f.Mem.Str($"/proc/self/fd/{fd}"), buf, 64);
        Assert.Equal("/memfd:buf (deleted)", Encoding.UTF8.GetString(f.Mem.Get(buf, (int)n)));
    }
}
