using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>Names that are not one ordinary component are refused by every operation that takes one.</summary>
public sealed class GoferHostileNameTests
{
    public static TheoryData<string, int> HostileNames => new()
    {
        { "", -Errno.ENOENT },
        { ".", -Errno.EINVAL },
        { "..", -Errno.EINVAL },
        { "a/b", -Errno.EINVAL },
        { "/", -Errno.EINVAL },
        { "../outside", -Errno.EINVAL },
        { "x\0y", -Errno.EINVAL },
        { "\0", -Errno.EINVAL },
        { new string('n', 256), -Errno.ENAMETOOLONG },
        { new string('é', 128), -Errno.ENAMETOOLONG }, // 256 UTF-8 bytes
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void EveryNameTakingOperationRefusesIt(string name, int expected)
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "file"), "");
        Directory.CreateDirectory(Path.Combine(h.Root, "dir"));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "file", out ulong file, out _));
        ulong root = h.RootHandle;
        GoferClient c = h.Client;

        Assert.Equal(expected, c.Walk(root, name, out _, out _));
        Assert.Equal(expected, c.Create(root, name, OpenFlags.O_RDWR, 0x1A4, 0, 0, out _, out _, out _));
        Assert.Equal(expected, c.Mkdir(root, name, 0x1ED, 0, 0, out _, out _));
        Assert.Equal(expected, c.Mknod(root, name, 0x8000 | 0x1A4, 0, 0, 0, out _, out _));
        Assert.Equal(expected, c.Symlink(root, name, "target", 0, 0, out _, out _));
        Assert.Equal(expected, c.Link(root, name, file, out _));
        Assert.Equal(expected, c.Unlink(root, name, directory: false));
        Assert.Equal(expected, c.Unlink(root, name, directory: true));
        Assert.Equal(expected, c.Rename(root, name, root, "fine", 0));
        Assert.Equal(expected, c.Rename(root, "file", root, name, 0));
        Assert.Equal(expected, c.BindSocket(root, name, LibC.SOCK_STREAM, out _));

        // Nothing was created, removed or moved, here or outside.
        Assert.Equal(new[] { "dir", "file" }, Directory.GetFileSystemEntries(h.Root).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(h.Root, "dir")));
        h.AssertMarkerUntouched();
    }

    [Fact]
    public void LongestLegalNameWorks()
    {
        using var h = new GoferHarness();
        string name = new string('n', 255);
        Assert.Equal(0, h.Client.Mkdir(h.RootHandle, name, 0x1ED, 0, 0, out ulong d, out _));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, name, out _, out _));
        Assert.True(Directory.Exists(Path.Combine(h.Root, name)));
        h.Client.Release(d);
    }

    [Fact]
    public void SymlinkTargetsAreCheckedButStoredVerbatim()
    {
        using var h = new GoferHarness();
        Assert.Equal(-Errno.EINVAL, h.Client.Symlink(h.RootHandle, "l", "a\0b", 0, 0, out _, out _));
        Assert.Equal(-Errno.ENAMETOOLONG, h.Client.Symlink(h.RootHandle, "l", new string('t', 4096), 0, 0, out _, out _));
        Assert.Equal(0, h.Client.Symlink(h.RootHandle, "l", new string('t', 4095), 0, 0, out _, out _));
    }
}
