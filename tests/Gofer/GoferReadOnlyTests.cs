using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>A read-only gofer refuses every write with EROFS itself and still serves reads.</summary>
public sealed class GoferReadOnlyTests
{
    [Fact]
    public void EveryWriteIsRefusedAndReadsWork()
    {
        using var h = new GoferHarness(readOnly: true);
        File.WriteAllText(Path.Combine(h.Root, "f"), "content");
        Directory.CreateDirectory(Path.Combine(h.Root, "d"));
        File.CreateSymbolicLink(Path.Combine(h.Root, "l"), "f");
        GoferClient c = h.Client;
        ulong root = h.RootHandle;
        Assert.True(c.IsReadOnly(root));
        Assert.Equal(0, c.Walk(root, "f", out ulong f, out _));
        Assert.Equal(0, c.Walk(root, "d", out ulong d, out _));
        Assert.True(c.IsReadOnly(f));

        Assert.Equal(-Errno.EROFS, c.Open(f, OpenFlags.O_WRONLY, out _));
        Assert.Equal(-Errno.EROFS, c.Open(f, OpenFlags.O_RDWR, out _));
        Assert.Equal(-Errno.EROFS, c.Open(f, OpenFlags.O_RDONLY | OpenFlags.O_TRUNC, out _));
        Assert.Equal(-Errno.EROFS, c.Create(root, "n", OpenFlags.O_RDWR, 0x1A4, 0, 0, out _, out _, out _));
        Assert.Equal(-Errno.EROFS, c.Mkdir(root, "n", 0x1ED, 0, 0, out _, out _));
        Assert.Equal(-Errno.EROFS, c.Mknod(root, "n", 0x1000 | 0x1A4, 0, 0, 0, out _, out _));
        Assert.Equal(-Errno.EROFS, c.Symlink(root, "n", "f", 0, 0, out _, out _));
        Assert.Equal(-Errno.EROFS, c.Link(root, "n", f, out _));
        Assert.Equal(-Errno.EROFS, c.Unlink(root, "f", directory: false));
        Assert.Equal(-Errno.EROFS, c.Unlink(root, "d", directory: true));
        Assert.Equal(-Errno.EROFS, c.Rename(root, "f", d, "f", 0));
        Assert.Equal(-Errno.EROFS, c.SetAttr(f, new GoferSetAttr { Mask = GoferSetAttr.SetMode, Mode = 0x1FF }));
        Assert.Equal(-Errno.EROFS, c.SetAttr(f, new GoferSetAttr { Mask = GoferSetAttr.SetSize, Size = 0 }));
        Assert.Equal(-Errno.EROFS, c.SetAttr(f, new GoferSetAttr { Mask = GoferSetAttr.SetMtime, MtimeNsec = GoferSetAttr.UtimeNow }));
        Assert.Equal(-Errno.EROFS, c.SetXattr(f, "user.x", new byte[] { 1 }, 0));
        Assert.Equal(-Errno.EROFS, c.RemoveXattr(f, "user.x"));
        Assert.Equal(-Errno.EROFS, c.BindSocket(d, "s", LibC.SOCK_STREAM, out _));

        Assert.Equal(0, c.Open(f, OpenFlags.O_RDONLY, out int fd));
        using (var s = GoferHarness.Stream(fd, FileAccess.Read))
        using (var reader = new StreamReader(s))
        {
            Assert.Equal("content", reader.ReadToEnd());
        }
        Assert.Equal(0, c.GetDents(root, out List<GoferDirEntry> entries));
        Assert.Equal(3, entries.Count);
        Assert.Equal(0, c.Walk(root, "l", out ulong l, out _));
        Assert.Equal(0, c.Readlink(l, out string target));
        Assert.Equal("f", target);
        Assert.Equal(0, c.Fsync(f));

        Assert.Equal("content", File.ReadAllText(Path.Combine(h.Root, "f")));
        Assert.Equal(new[] { "d", "f", "l" }, Directory.GetFileSystemEntries(h.Root).Select(Path.GetFileName).Order());
    }
}
