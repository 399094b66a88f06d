using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using RunscNet.StateFile.Oci;
using RunscNet.Tests.Gofer;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

/// <summary>The gofer-backed root through the Sentry's VFS, against an in-process gofer over a temp dir.</summary>
public class GoferFileSystemTests
{
    private sealed class Sandbox : IDisposable
    {
        public readonly GoferHarness Gofer;
        public readonly FilesFixture F;

        public Sandbox(bool readOnlyRoot = false, List<RunscNet.StateFile.Oci.Mount>? mounts = null, bool overlay = false)
        {
            Gofer = new GoferHarness();
            Directory.CreateDirectory(Path.Combine(Gofer.Root, "etc"));
            File.WriteAllText(Path.Combine(Gofer.Root, "etc", "hostname"), "sandboxed\n");
            F = new FilesFixture(mountDefaults: false);
            var spec = new Spec { Root = new Root { Path = Gofer.Root, Readonly = readOnlyRoot }, Mounts = mounts ?? new() };
            Directory.CreateDirectory(Path.Combine(Gofer.Root, "etc", "sub"));
            File.WriteAllText(Path.Combine(Gofer.Root, "etc", "sub", "inner"), "lower inner\n");
            Assert.Equal(0, F.Kernel.Vfs.MountContainer(spec, Gofer.Client, overlay));
            F.Task.Fs = new FsContext(F.Kernel.Vfs.RootPath);
        }

        public void Dispose() => Gofer.Dispose();
    }

    [Fact]
    public void FilesCreatedInTheSandboxReachTheHostTree()
    {
        using var s = new Sandbox();
        var f = s.F;
        int fd = f.Open("/etc/new.conf", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0x1a4);
        Assert.Equal(6, f.Write(fd, "key=v\n"));
        f.Call(3, (ulong)fd);
        Assert.Equal("key=v\n", File.ReadAllText(Path.Combine(s.Gofer.Root, "etc", "new.conf")));
        fd = f.Open("/etc/hostname", OpenFlags.O_RDONLY);
        Assert.Equal("sandboxed\n", f.Read(fd));
        Assert.True(f.Task.Fds.Get(fd)!.HostFd >= 0);
    }

    [Fact]
    public void DirectoryOperationsAndRenameUpdateHostAndCache()
    {
        using var s = new Sandbox();
        var f = s.F;
        Assert.Equal(0, f.Call(83, f.Mem.Str("/data"), 0x1ed));
        f.Task.Fds.Close(f.Open("/data/a", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        Assert.Equal(0, f.Call(82, f.Mem.Str("/data/a"), f.Mem.Str("/data/b")));
        Assert.False(File.Exists(Path.Combine(s.Gofer.Root, "data", "a")));
        Assert.True(File.Exists(Path.Combine(s.Gofer.Root, "data", "b")));
        Assert.Equal(-Errno.ENOENT, f.Call(21, f.Mem.Str("/data/a"), 0));
        Assert.Equal(0, f.Call(21, f.Mem.Str("/data/b"), 0));
        Assert.Equal(0, f.Call(87, f.Mem.Str("/data/b")));
        Assert.Equal(0, f.Call(84, f.Mem.Str("/data")));
        Assert.False(Directory.Exists(Path.Combine(s.Gofer.Root, "data")));
    }

    [Fact]
    public void AbsoluteSymlinkResolvesInsideTheSandbox()
    {
        using var s = new Sandbox();
        // On the host this link would point at the host's /etc; in the sandbox, at the container's.
        File.CreateSymbolicLink(Path.Combine(s.Gofer.Root, "link"), "/etc");
        File.CreateSymbolicLink(Path.Combine(s.Gofer.Root, "up"), "../../../../outside");
        var f = s.F;
        int fd = f.Open("/link/hostname", OpenFlags.O_RDONLY);
        Assert.Equal("sandboxed\n", f.Read(fd));
        Assert.Equal(-Errno.ENOENT, f.Call(21, f.Mem.Str("/up/marker"), 0));
        s.Gofer.AssertMarkerUntouched();
    }

    [Fact]
    public void ReadOnlyRootRefusesWritesWithErofs()
    {
        using var s = new Sandbox(readOnlyRoot: true);
        var f = s.F;
        Assert.Equal(-Errno.EROFS, f.Call(257, FilesFixture.AT_FDCWD, f.Mem.Str("/etc/x"), (ulong)(OpenFlags.O_CREAT | OpenFlags.O_WRONLY), 0x1a4));
        Assert.Equal(-Errno.EROFS, f.Call(257, FilesFixture.AT_FDCWD, f.Mem.Str("/etc/hostname"), (ulong)OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.EROFS, f.Call(83, f.Mem.Str("/d"), 0x1ed));
        // Reading still works, and /dev and /proc are the Sentry's own.
        Assert.Equal("sandboxed\n", f.Read(f.Open("/etc/hostname", OpenFlags.O_RDONLY)));
    }

    [Fact]
    public void MountPointsMissingOnAReadOnlyRootExistOnlyInTheSentry()
    {
        var mounts = new List<RunscNet.StateFile.Oci.Mount>
        {
            new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = new() { "ro" } },
        };
        using var s = new Sandbox(readOnlyRoot: true, mounts: mounts);
        var f = s.F;
        Assert.False(Directory.Exists(Path.Combine(s.Gofer.Root, "sys")));
        string online = f.Read(f.Open("/sys/devices/system/cpu/online", OpenFlags.O_RDONLY));
        Assert.StartsWith("0", online);
        Assert.Empty(s.F.Kernel.Vfs.MountWarnings);
    }

    [Fact]
    public void SpecTmpfsMountIsServedBySentry()
    {
        var mounts = new List<RunscNet.StateFile.Oci.Mount>
        {
            new() { Destination = "/tmp", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid", "mode=1777" } },
        };
        using var s = new Sandbox(mounts: mounts);
        var f = s.F;
        f.Task.Fds.Close(f.Open("/tmp/scratch", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        Assert.False(File.Exists(Path.Combine(s.Gofer.Root, "tmp", "scratch")));
        // Renaming across the mount boundary is EXDEV.
        Assert.Equal(-Errno.EXDEV, f.Call(82, f.Mem.Str("/tmp/scratch"), f.Mem.Str("/scratch")));
        int fd = f.Open("/proc/self/mounts", OpenFlags.O_RDONLY);
        string mountsText = f.Read(fd);
        Assert.Contains(" /tmp tmpfs rw,nosuid", mountsText);
        Assert.Contains(" /proc proc ", mountsText);
    }

    [Fact]
    public void MemoryOverlayNeverWritesTheHostRootfs()
    {
        using var s = new Sandbox(overlay: true);
        var f = s.F;
        string Snapshot() => string.Join("\n", Directory.GetFileSystemEntries(s.Gofer.Root, "*", SearchOption.AllDirectories)
            .OrderBy(p => p, StringComparer.Ordinal).Select(p => p + ":" + (File.Exists(p) ? File.ReadAllText(p) : "dir")));
        string before = Snapshot();
        // Modify a lower file (copy-up), create, delete, make directories, rename.
        int fd = f.Open("/etc/hostname", OpenFlags.O_WRONLY | OpenFlags.O_APPEND);
        Assert.Equal(6, f.Write(fd, "extra\n"));
        f.Call(3, (ulong)fd);
        Assert.Equal("sandboxed\nextra\n", f.Read(f.Open("/etc/hostname", OpenFlags.O_RDONLY)));
        f.Task.Fds.Close(f.Open("/etc/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        Assert.Equal(0, f.Call(87, f.Mem.Str("/etc/sub/inner")));
        Assert.Equal(-Errno.ENOENT, f.Call(21, f.Mem.Str("/etc/sub/inner"), 0));
        Assert.Equal(0, f.Call(84, f.Mem.Str("/etc/sub")));
        Assert.Equal(0, f.Call(83, f.Mem.Str("/etc/sub"), 0x1ed));
        // The re-created directory is opaque: the deleted lower file does not come back.
        Assert.Equal(-Errno.ENOENT, f.Call(21, f.Mem.Str("/etc/sub/inner"), 0));
        Assert.Equal(0, f.Call(82, f.Mem.Str("/etc/new"), f.Mem.Str("/renamed")));
        Assert.Equal(0, f.Call(90, f.Mem.Str("/etc"), 0x1c0));
        Assert.Equal(before, Snapshot());
        // The merged listing reflects the changes.
        int dir = f.Open("/etc", OpenFlags.O_DIRECTORY);
        ulong buf = f.Mem.Alloc(4096);
        long n = f.Call(217, (ulong)dir, buf, 4096);
        string listing = System.Text.Encoding.UTF8.GetString(f.Mem.Get(buf, (int)n));
        Assert.Contains("hostname", listing);
        Assert.Contains("sub", listing);
        Assert.DoesNotContain("new", listing);
    }
}
