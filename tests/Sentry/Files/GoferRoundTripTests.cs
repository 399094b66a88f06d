using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using RunscNet.StateFile.Oci;
using RunscNet.Tests.Gofer;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

/// <summary>
/// How many gofer round trips path walks, stat and open make (counted by the client, not timed):
/// cached attributes and names are trusted until the Sentry changes them, a multi-component walk
/// is one round trip, read-only re-opens reuse the kept host fd.
/// </summary>
public class GoferRoundTripTests
{
    private const int SysWrite = 1, SysClose = 3, SysStat = 4, SysFstat = 5, SysLink = 86, SysUnlink = 87, SysChmod = 90, SysTruncate = 76;

    private sealed class Sandbox : IDisposable
    {
        public readonly GoferHarness Gofer = new();
        public readonly FilesFixture F;

        public Sandbox()
        {
            Directory.CreateDirectory(Path.Combine(Gofer.Root, "a", "b", "c", "d"));
            File.WriteAllText(Path.Combine(Gofer.Root, "a", "b", "c", "d", "file"), "0123456789");
            File.WriteAllText(Path.Combine(Gofer.Root, "top"), "top\n");
            F = new FilesFixture(mountDefaults: false);
            var spec = new Spec { Root = new Root { Path = Gofer.Root }, Mounts = new() };
            Assert.Equal(0, F.Kernel.Vfs.MountContainer(spec, Gofer.Client, false));
            F.Task.Fs = new FsContext(F.Kernel.Vfs.RootPath);
        }

        public long RoundTrips => Gofer.Client.RoundTrips;

        /// <summary>stat(path): the result (0 or -errno) and st_size, st_mode, st_nlink.</summary>
        public long Stat(string path, out long size, out uint mode, out ulong nlink)
        {
            ulong buf = F.Mem.Alloc(144);
            long r = F.Call(SysStat, F.Mem.Str(path), buf);
            var b = F.Mem.Get(buf, 144);
            nlink = BitConverter.ToUInt64(b, 16);
            mode = BitConverter.ToUInt32(b, 24);
            size = BitConverter.ToInt64(b, 48);
            return r;
        }

        public long Fstat(int fd, out long size)
        {
            ulong buf = F.Mem.Alloc(144);
            long r = F.Call(SysFstat, (ulong)fd, buf);
            size = BitConverter.ToInt64(F.Mem.Get(buf, 144), 48);
            return r;
        }

        public void Dispose() => Gofer.Dispose();
    }

    [Fact]
    public void RepeatedStatOfACachedPathMakesNoRoundTrip()
    {
        using var s = new Sandbox();
        Assert.Equal(0, s.Stat("/a/b/c/d/file", out long size, out _, out _));
        Assert.Equal(10, size);
        long before = s.RoundTrips;
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0, s.Stat("/a/b/c/d/file", out size, out _, out _));
            Assert.Equal(10, size);
        }
        Assert.Equal(before, s.RoundTrips);
    }

    [Fact]
    public void FirstWalkOfADeepPathIsOneRoundTrip()
    {
        using var s = new Sandbox();
        long before = s.RoundTrips;
        Assert.Equal(0, s.Stat("/a/b/c/d/file", out long size, out _, out _));
        Assert.Equal(10, size);
        Assert.Equal(before + 1, s.RoundTrips);
    }

    [Fact]
    public void OpenOfANewPathIsOneWalkAndOneOpenAndAReopenNone()
    {
        using var s = new Sandbox();
        long before = s.RoundTrips;
        int fd = s.F.Open("/a/b/c/d/file", OpenFlags.O_RDONLY);
        Assert.Equal(before + 2, s.RoundTrips);
        Assert.Equal("0123456789", s.F.Read(fd));
        Assert.Equal(0, s.F.Call(SysClose, (ulong)fd));

        before = s.RoundTrips;
        int again = s.F.Open("/a/b/c/d/file", OpenFlags.O_RDONLY);
        int third = s.F.Open("/a/b/c/d/file", OpenFlags.O_RDONLY);
        Assert.Equal(before, s.RoundTrips);
        // Descriptions sharing the kept host fd still have their own offsets.
        Assert.Equal("0123456789", s.F.Read(again));
        Assert.Equal("0123456789", s.F.Read(third));
        Assert.Equal("", s.F.Read(again));
    }

    [Fact]
    public void AMissingNameIsRememberedUntilTheSandboxCreatesIt()
    {
        using var s = new Sandbox();
        Assert.Equal(-Errno.ENOENT, s.Stat("/a/nothing", out _, out _, out _));
        long before = s.RoundTrips;
        Assert.Equal(-Errno.ENOENT, s.Stat("/a/nothing", out _, out _, out _));
        Assert.Equal(-Errno.ENOENT, s.Stat("/a/nothing/deeper", out _, out _, out _));
        Assert.Equal(before, s.RoundTrips);

        int fd = s.F.Open("/a/nothing", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0x1a4);
        Assert.Equal(3, s.F.Write(fd, "new"));
        Assert.Equal(0, s.F.Call(SysClose, (ulong)fd));
        Assert.Equal(0, s.Stat("/a/nothing", out long size, out _, out _));
        Assert.Equal(3, size);
        Assert.Equal(-Errno.ENOENT, s.Stat("/a/b/missing/x/y", out _, out _, out _));
        Assert.Equal(0, s.F.Call(83, s.F.Mem.Str("/a/b/missing"), 0x1ed));
        Assert.Equal(0, s.Stat("/a/b/missing", out _, out uint mode, out _));
        Assert.Equal(LinuxMode.S_IFDIR, mode & LinuxMode.S_IFMT);
    }

    [Fact]
    public void StatSeesWritesOfOpenFilesAndChangesMadeThroughOtherNames()
    {
        using var s = new Sandbox();
        Assert.Equal(0, s.Stat("/top", out long size, out _, out ulong nlink));
        Assert.Equal(4, size);
        Assert.Equal(1UL, nlink);
        Assert.Equal(0, s.F.Call(SysLink, s.F.Mem.Str("/top"), s.F.Mem.Str("/other")));
        Assert.Equal(0, s.Stat("/top", out _, out _, out nlink));
        Assert.Equal(2UL, nlink);

        // Written through the other name, while open: stat and fstat see each write.
        int fd = s.F.Open("/other", OpenFlags.O_WRONLY | OpenFlags.O_APPEND);
        Assert.Equal(5, s.F.Write(fd, "more\n"));
        Assert.Equal(0, s.Stat("/top", out size, out _, out _));
        Assert.Equal(9, size);
        Assert.Equal(0, s.Fstat(fd, out size));
        Assert.Equal(9, size);
        Assert.Equal(0, s.F.Call(SysClose, (ulong)fd));
        Assert.Equal(0, s.Stat("/top", out size, out _, out _));
        Assert.Equal(9, size);

        Assert.Equal(0, s.F.Call(SysTruncate, s.F.Mem.Str("/other"), 2));
        Assert.Equal(0, s.Stat("/top", out size, out _, out _));
        Assert.Equal(2, size);
        Assert.Equal(0, s.F.Call(SysChmod, s.F.Mem.Str("/other"), 0x180));
        Assert.Equal(0, s.Stat("/top", out _, out uint mode, out _));
        Assert.Equal(0x180u, mode & 0xfff);
        Assert.Equal(0, s.F.Call(SysUnlink, s.F.Mem.Str("/other")));
        Assert.Equal(0, s.Stat("/top", out _, out _, out nlink));
        Assert.Equal(1UL, nlink);
        Assert.Equal("to", File.ReadAllText(Path.Combine(s.Gofer.Root, "top")));
    }

    [Fact]
    public void AFileReadOnlyOpenKeepsSeeingNewDataAndUnlinkedFilesLeaveTheHost()
    {
        using var s = new Sandbox();
        int reader = s.F.Open("/top", OpenFlags.O_RDONLY);
        Assert.Equal("top\n", s.F.Read(reader));
        int writer = s.F.Open("/top", OpenFlags.O_WRONLY | OpenFlags.O_TRUNC);
        Assert.Equal(3, s.F.Write(writer, "new"));
        int again = s.F.Open("/top", OpenFlags.O_RDONLY);
        Assert.Equal("new", s.F.Read(again));
        Assert.Equal(0, s.F.Call(SysUnlink, s.F.Mem.Str("/top")));
        Assert.False(File.Exists(Path.Combine(s.Gofer.Root, "top")));
        Assert.Equal(-Errno.ENOENT, s.Stat("/top", out _, out _, out _));
    }
}
