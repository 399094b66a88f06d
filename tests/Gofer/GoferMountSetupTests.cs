using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Process;
using RunscNet.StateFile.Oci;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// The namespace-free parts of the gofer's mount setup: which spec mounts it binds (and with what
/// flags), and resolving mount points inside the rootfs so planted symlinks cannot lead outside.
/// </summary>
public sealed class GoferMountSetupTests
{
    [Fact]
    public void PlansOnlyBindMountsWithTheirOptions()
    {
        var spec = new Spec
        {
            Mounts = new List<Mount>
            {
                new() { Destination = "/proc", Type = "proc", Source = "proc" },
                new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid" } },
                new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts" },
                new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = new() { "ro" } },
                new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue" },
                new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup" },
                new() { Destination = "/data", Type = "bind", Source = "/srv/data", Options = new() { "rbind", "rprivate" } },
                new() { Destination = "/ro", Type = "none", Source = "rel/dir", Options = new() { "bind", "ro", "nosuid", "nodev", "noexec" } },
                new() { Destination = "/rw", Source = "/srv/rw", Options = new() { "bind", "ro", "rw" } },
                new() { Destination = "/nfs", Type = "nfs", Source = "server:/x" },
            },
        };
        var skipped = new List<string>();
        List<BindMountPlan> plans = BindMountPlan.FromSpec(spec, "/bundles/b1", skipped);
        Assert.Equal(new[] { "/data", "/ro", "/rw" }, plans.Select(p => p.Destination));
        Assert.Equal(7, skipped.Count);
        Assert.Equal(new BindMountPlan("/srv/data", "/data", true, 0, Mounts.MS_PRIVATE | Mounts.MS_REC), plans[0]);
        Assert.Equal(new BindMountPlan("/bundles/b1/rel/dir", "/ro", false,
            Mounts.MS_RDONLY | Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC, 0), plans[1]);
        Assert.Equal(0UL, plans[2].Flags); // a later "rw" wins over "ro"
    }

    [Fact]
    public void TheSpecCanComeFromAnInheritedFd()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{ "ociVersion": "1.0.2", "root": { "path": "/abs/rootfs", "readonly": true }, "mounts": [ { "destination": "/d", "type": "bind", "source": "/s" } ] }""");
            int fd = Files.OpenAt(PathConsts.AT_FDCWD, path, OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
            Assert.True(fd >= 0);
            Assert.True(Files.LSeek(fd, 10, Files.SEEK_SET) == 10); // a moved shared offset does not matter
            Spec spec = RunscNet.Gofer.GoferProcess.ReadSpecFd(fd);
            Assert.Equal(("/abs/rootfs", true), (spec.Root!.Path, spec.Root.Readonly));
            Assert.Equal("/d", spec.Mounts!.Single().Destination);

            File.WriteAllText(path, "{ not json");
            fd = Files.OpenAt(PathConsts.AT_FDCWD, path, OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
            var e = Assert.Throws<GoferSetupException>(() => RunscNet.Gofer.GoferProcess.ReadSpecFd(fd));
            Assert.Contains($"fd {fd}", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ABindMountWithoutSourceIsAnError()
    {
        var spec = new Spec { Mounts = new() { new() { Destination = "/x", Type = "bind" } } };
        var e = Assert.Throws<GoferSetupException>(() => BindMountPlan.FromSpec(spec, "/b", new List<string>()));
        Assert.Contains("/x", e.Message);
    }

    [Fact]
    public void MountPointsResolveInsideTheRootfsEvenThroughHostileSymlinks()
    {
        string dir = Directory.CreateTempSubdirectory("gofer-mounts-").FullName;
        try
        {
            string rootfs = Path.Combine(dir, "rootfs");
            string outside = Path.Combine(dir, "outside");
            Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
            Directory.CreateDirectory(outside);
            File.CreateSymbolicLink(Path.Combine(rootfs, "abs"), outside);                  // absolute, to the host
            File.CreateSymbolicLink(Path.Combine(rootfs, "rel"), "../../../../../" + outside); // ".." past the root
            File.CreateSymbolicLink(Path.Combine(rootfs, "etc", "resolv.conf"), "../run/resolv.conf");
            File.CreateSymbolicLink(Path.Combine(rootfs, "loop"), "loop");
            int root = Files.OpenAt(PathConsts.AT_FDCWD, rootfs, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
            Assert.True(root >= 0);
            try
            {
                AssertCreatedInside(root, "/abs/mnt", create: true, Path.Combine(rootfs, outside.TrimStart('/'), "mnt"));
                AssertCreatedInside(root, "/rel/deeper/mnt", create: true, Path.Combine(rootfs, outside.TrimStart('/'), "deeper/mnt"));
                AssertCreatedInside(root, "/etc/resolv.conf", create: false, Path.Combine(rootfs, "run/resolv.conf"));
                AssertCreatedInside(root, "/../../x/./y", create: true, Path.Combine(rootfs, "x/y"));
                Assert.Equal(-Errno.ELOOP, InRootResolver.Open(root, "/loop/x", create: true));
                Assert.Equal(-Errno.ENOENT, InRootResolver.Open(root, "/missing/x", create: null));
                Assert.Empty(Directory.GetFileSystemEntries(outside)); // nothing created on the host side
            }
            finally
            {
                FileDescriptor.Close(root);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertCreatedInside(int root, string destination, bool create, string expectedHostPath)
    {
        int fd = InRootResolver.Open(root, destination, create);
        Assert.True(fd >= 0, $"{destination}: errno {-fd}");
        Statx viaFd = StatFd(fd);
        FileDescriptor.Close(fd);
        Statx expected = GoferHarness.HostStat(expectedHostPath);
        Assert.Equal(expected.Ino, viaFd.Ino);
        Assert.Equal(create ? 0x4000u : 0x8000u, (uint)viaFd.Mode & 0xF000);
    }

    private static unsafe Statx StatFd(int fd)
    {
        Statx sx;
        Assert.Equal(0, Files.StatxAt(fd, "", PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW, Files.STATX_BASIC_STATS, &sx));
        return sx;
    }
}
