using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// Symlinks planted in the served tree pointing outside it (absolute, relative with "..", to a
/// file and to a directory) are never followed by any operation: the marker outside is never
/// read, written, listed, moved, linked or re-permissioned.
/// </summary>
public sealed class GoferSymlinkEscapeTests
{
    private const uint S_IFMT = 0xF000, S_IFLNK = 0xA000;

    private static IEnumerable<(string Name, string Target)> Plant(GoferHarness h)
    {
        var links = new List<(string, string)>
        {
            ("abs-file", h.MarkerPath),
            ("abs-dir", h.Outside),
            ("rel-file", "../outside/marker"),
            ("rel-dir", "../outside"),
            ("deep-rel", "../../../../../../../../.." + h.MarkerPath),
            ("proc-root", "/proc/self/root" + h.MarkerPath),
        };
        foreach ((string name, string target) in links)
        {
            File.CreateSymbolicLink(Path.Combine(h.Root, name), target);
        }
        return links;
    }

    [Fact]
    public void WalkReturnsTheLinkItselfAndNothingWalksThroughIt()
    {
        using var h = new GoferHarness();
        foreach ((string name, string target) in Plant(h))
        {
            Assert.Equal(0, h.Client.Walk(h.RootHandle, name, out ulong link, out GoferStat st));
            Assert.Equal(S_IFLNK, st.Mode & S_IFMT);
            Assert.Equal(0, h.Client.Readlink(link, out string read));
            Assert.Equal(target, read);
            Assert.Equal(-Errno.ENOTDIR, h.Client.Walk(link, "marker", out _, out _));
            Assert.Equal(-Errno.ENOTDIR, h.Client.GetDents(link, out _));
            Assert.Equal(-Errno.ENOTDIR, h.Client.Create(link, "new", OpenFlags.O_RDWR, 0x1A4, 0, 0, out _, out _, out _));
            Assert.Equal(-Errno.ENOTDIR, h.Client.Mkdir(link, "new", 0x1ED, 0, 0, out _, out _));
            Assert.Equal(-Errno.ENOTDIR, h.Client.Unlink(link, "marker", directory: false));
            Assert.Equal(-Errno.ENOTDIR, h.Client.Rename(link, "marker", h.RootHandle, "stolen", 0));
            Assert.Equal(-Errno.ENOTDIR, h.Client.BindSocket(link, "s", LibC.SOCK_STREAM, out _));
            Assert.Equal(-Errno.ENOENT, h.Client.Attach("/" + name + "/marker", out _, out _));
        }
        Assert.False(File.Exists(Path.Combine(h.Root, "stolen")));
        h.AssertMarkerUntouched();
    }

    [Fact]
    public void OperationsOnTheLinkHandleNeverReachTheTarget()
    {
        using var h = new GoferHarness();
        foreach ((string name, _) in Plant(h))
        {
            Assert.Equal(0, h.Client.Walk(h.RootHandle, name, out ulong link, out _));
            Assert.Equal(-Errno.ELOOP, h.Client.Open(link, OpenFlags.O_RDONLY, out _));
            Assert.Equal(-Errno.ELOOP, h.Client.Open(link, OpenFlags.O_RDWR | OpenFlags.O_TRUNC, out _));
            Assert.Equal(-Errno.EOPNOTSUPP, h.Client.SetAttr(link, new GoferSetAttr { Mask = GoferSetAttr.SetMode, Mode = 0x1FF }));
            Assert.Equal(-Errno.EINVAL, h.Client.SetAttr(link, new GoferSetAttr { Mask = GoferSetAttr.SetSize, Size = 0 }));
            // Owner and times apply to the link itself (lchown / AT_SYMLINK_NOFOLLOW).
            Assert.Equal(0, h.Client.SetAttr(link, new GoferSetAttr { Mask = GoferSetAttr.SetUid | GoferSetAttr.SetGid, Uid = 4242, Gid = 4242 }));
            Assert.Equal(0, h.Client.SetAttr(link, new GoferSetAttr { Mask = GoferSetAttr.SetMtime, MtimeSec = 12345 }));
            Assert.Equal(0, h.Client.Stat(link, out GoferStat st));
            Assert.Equal((S_IFLNK, 4242u, 12345L), (st.Mode & S_IFMT, st.Uid, st.MtimeSec));
            Assert.Equal(-Errno.EPERM, h.Client.SetXattr(link, "user.x", new byte[] { 1 }, 0));
            Assert.Equal(-Errno.ENODATA, h.Client.GetXattr(link, "user.x", out _));
            Assert.Equal(0, h.Client.ListXattr(link, out List<string> names));
            Assert.Empty(names);
            Assert.Equal(-Errno.ECONNREFUSED, h.Client.ConnectSocket(link, LibC.SOCK_STREAM, out _));
            Assert.Equal(0, h.Client.Fsync(link));

            // A hard link of the handle links the symlink itself, not its target.
            Assert.Equal(0, h.Client.Link(h.RootHandle, name + ".hard", link, out GoferStat linked));
            Assert.Equal(S_IFLNK, linked.Mode & S_IFMT);
            Assert.NotNull(new FileInfo(Path.Combine(h.Root, name + ".hard")).LinkTarget);
        }
        Statx marker = GoferHarness.HostStat(h.MarkerPath);
        Assert.NotEqual(4242u, marker.Uid);
        Assert.NotEqual(12345L, marker.Mtime.Seconds);
        h.AssertMarkerUntouched();
    }

    [Fact]
    public void AttachResolvesSymlinksOnlyInsideTheTree()
    {
        using var h = new GoferHarness();
        Plant(h);
        Directory.CreateDirectory(Path.Combine(h.Root, "real"));
        File.CreateSymbolicLink(Path.Combine(h.Root, "real", "up"), "..");
        foreach (string path in new[] { "/abs-dir", "/abs-file", "/rel-dir/marker", "/real/up/abs-dir/marker", "/proc-root" })
        {
            Assert.Equal(-Errno.ENOENT, h.Client.Attach(path, out _, out _));
        }
        Assert.Equal(-Errno.EINVAL, h.Client.Attach("/../outside", out _, out _));

        // The same targets planted inside the tree are what attach reaches.
        string decoyDir = Path.Combine(h.Root, h.Outside.TrimStart('/'));
        Directory.CreateDirectory(decoyDir);
        File.WriteAllText(Path.Combine(decoyDir, "marker"), "decoy");
        Directory.CreateDirectory(Path.Combine(h.Root, "outside"));
        File.WriteAllText(Path.Combine(h.Root, "outside", "marker"), "inside");
        AssertAttachReaches(h, "/abs-file", Path.Combine(decoyDir, "marker"));
        AssertAttachReaches(h, "/real/up/abs-dir/marker", Path.Combine(decoyDir, "marker"));
        AssertAttachReaches(h, "/rel-file", Path.Combine(h.Root, "outside", "marker"));
        AssertAttachReaches(h, "/deep-rel", Path.Combine(decoyDir, "marker"));
        h.AssertMarkerUntouched();
    }

    private static void AssertAttachReaches(GoferHarness h, string path, string hostPath)
    {
        Assert.Equal(0, h.Client.Attach(path, out ulong handle, out GoferStat st));
        Assert.Equal(GoferHarness.HostStat(hostPath).Ino, st.Ino);
        Assert.NotEqual(GoferHarness.HostStat(h.MarkerPath).Ino, st.Ino);
        h.Client.Release(handle);
    }

    [Fact]
    public void ReplacingADirectoryByASymlinkDoesNotRedirectAHeldHandle()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "d"));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "d", out ulong d, out _));
        // The host side swaps "d" for a symlink to the outside after the handle was taken.
        Directory.Move(Path.Combine(h.Root, "d"), Path.Combine(h.Root, "d.old"));
        File.CreateSymbolicLink(Path.Combine(h.Root, "d"), h.Outside);
        Assert.Equal(0, h.Client.Create(d, "marker", OpenFlags.O_RDWR, 0x1FF, 0, 0, out _, out _, out int fd));
        FileDescriptor.Close(fd);
        Assert.True(File.Exists(Path.Combine(h.Root, "d.old", "marker")));
        Assert.Equal(0, h.Client.GetDents(d, out List<GoferDirEntry> entries));
        Assert.Equal(new[] { "marker" }, entries.Select(e => e.Name));
        h.AssertMarkerUntouched();
    }
}
