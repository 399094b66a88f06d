using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class PathWalkTests
{
    private const int AT = PathConsts.AT_FDCWD;

    [Fact]
    public void SymlinkLoopGivesEloop()
    {
        var f = new FilesFixture();
        var vfs = f.Kernel.Vfs;
        Assert.Equal(0, vfs.Symlink(f.Task, "b", AT, "/a"));
        Assert.Equal(0, vfs.Symlink(f.Task, "a", AT, "/b"));
        Assert.Equal(-Errno.ELOOP, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/a", true, out _));
        // Not following the final link finds the link itself.
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/a", false, out var link));
        Assert.True(link.Inode.IsSymlink);
    }

    [Fact]
    public void FortySymlinksResolveButFortyOneDoNot()
    {
        var f = new FilesFixture();
        var vfs = f.Kernel.Vfs;
        vfs.Mkdir(f.Task, AT, "/target", 0x1ed);
        Assert.Equal(0, vfs.Symlink(f.Task, "/target", AT, "/l0"));
        for (int i = 1; i <= 40; i++) Assert.Equal(0, vfs.Symlink(f.Task, $"/l{i - 1}", AT, $"/l{i}"));
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/l39", true, out var r));
        Assert.True(r.Inode.IsDirectory);
        Assert.Equal(-Errno.ELOOP, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/l40", true, out _));
    }

    [Fact]
    public void DotDotAtRootStaysAtRootAndAtChrootRoot()
    {
        var f = new FilesFixture();
        var vfs = f.Kernel.Vfs;
        vfs.Mkdir(f.Task, AT, "/jail", 0x1ed);
        vfs.Mkdir(f.Task, AT, "/jail/inner", 0x1ed);
        vfs.Mkdir(f.Task, AT, "/secret", 0x1ed);
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/../../..", true, out var r));
        Assert.Equal(vfs.RootPath, r);
        vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/jail", true, out var jail);
        f.Task.Fs.Root = jail;
        f.Task.Fs.Cwd = jail;
        Assert.Equal(-Errno.ENOENT, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "../../secret", true, out _));
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/../inner", true, out var inner));
        Assert.Equal("/inner", vfs.PathOf(inner, f.Task.Fs.Root));
        // An absolute symlink inside the jail resolves against the jail's root.
        Assert.Equal(0, vfs.Symlink(f.Task, "/inner", AT, "/link"));
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/link", true, out var viaLink));
        Assert.Equal(inner.Dentry, viaLink.Dentry);
    }

    [Fact]
    public void TrailingSlashRequiresDirectory()
    {
        var f = new FilesFixture();
        int fd = f.Open("/file", OpenFlags.O_CREAT | OpenFlags.O_WRONLY);
        f.Task.Fds.Close(fd);
        var vfs = f.Kernel.Vfs;
        Assert.Equal(-Errno.ENOTDIR, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/file/", true, out _));
        Assert.Equal(-Errno.ENOTDIR, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/file/x", true, out _));
        vfs.Mkdir(f.Task, AT, "/d", 0x1ed);
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/d/", true, out _));
        Assert.Equal(-Errno.ENOTDIR, vfs.Remove(f.Task, AT, "/file/", false));
    }

    [Fact]
    public void DotDotCrossesMountRootToTheMountPoint()
    {
        var f = new FilesFixture();
        var vfs = f.Kernel.Vfs;
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/dev/../proc", true, out var proc));
        Assert.Equal("proc", proc.Mount.FileSystem.TypeName);
        Assert.Equal("/proc", vfs.PathOf(proc, f.Task.Fs.Root));
    }

    [Fact]
    public void SearchPermissionIsRequiredForNonRoot()
    {
        var f = new FilesFixture();
        var vfs = f.Kernel.Vfs;
        vfs.Mkdir(f.Task, AT, "/locked", 0x1c0); // 0700 root
        vfs.Mkdir(f.Task, AT, "/locked/in", 0x1ed);
        var user = new Credentials(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, Array.Empty<uint>(), 0, 0, 0, 0);
        var t2 = new RunscNet.Sentry.Kernel.Task(f.Kernel, 2, user, f.Mem);
        Assert.Equal(-Errno.EACCES, vfs.Resolve(t2, t2.Fs.Cwd, "/locked/in", true, out _));
        Assert.Equal(0, vfs.Resolve(f.Task, f.Task.Fs.Cwd, "/locked/in", true, out _));
    }
}
