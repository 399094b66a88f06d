using RunscNet.Gofer.Interop;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// The gofer's cap on open O_PATH fds (HandleTable): past it the least recently used handles
/// lose their fds and are reopened by (parent, name) when used, checked to be the same file;
/// renames through the gofer keep them reachable, unlinked ones stay open, and a file replaced
/// behind the gofer's back answers EBADF rather than being confused with the new one.
/// </summary>
public sealed class GoferHandleCapTests
{
    private const int Cap = 8;

    [Fact]
    public void ManyHandlesKeepAtMostTheCapOfFdsAndAllStillWork()
    {
        using var h = new GoferHarness(maxOpenHandles: Cap);
        Directory.CreateDirectory(Path.Combine(h.Root, "d"));
        for (int i = 0; i < 100; i++) File.WriteAllText(Path.Combine(h.Root, "d", $"f{i}"), new string('x', i));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "d", out ulong dir, out _));
        var handles = new List<ulong>();
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(0, h.Client.Walk(dir, $"f{i}", out ulong f, out _));
            handles.Add(f);
            Assert.True(h.ServerOpenFds <= Cap, $"{h.ServerOpenFds} open fds after {i + 1} walks");
        }
        Assert.Equal(102, h.ServerHandleCount);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(0, h.Client.Stat(handles[i], out var st));
            Assert.Equal(i, st.Size);
        }
        Assert.True(h.ServerOpenFds <= Cap);
        Assert.Equal(0, h.Client.Open(handles[42], OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, out int fd));
        FileDescriptor.Close(fd);
    }

    [Fact]
    public void AClosedHandleFollowsARenameMadeThroughTheGofer()
    {
        using var h = new GoferHarness(maxOpenHandles: Cap);
        Directory.CreateDirectory(Path.Combine(h.Root, "a", "sub"));
        File.WriteAllText(Path.Combine(h.Root, "a", "sub", "file"), "12345");
        Directory.CreateDirectory(Path.Combine(h.Root, "b"));
        Assert.Equal(0, h.WalkPath("a/sub/file", out ulong file));
        Assert.Equal(0, h.WalkPath("a", out ulong a));
        Assert.Equal(0, h.WalkPath("b", out ulong b));
        Assert.Equal(0, h.Client.Rename(a, "sub", b, "moved", 0));
        FillCap(h);
        Assert.Equal(0, h.Client.Stat(file, out var st));
        Assert.Equal(5, st.Size);
    }

    [Fact]
    public void AnUnlinkedFileKeepsItsHandle()
    {
        using var h = new GoferHarness(maxOpenHandles: Cap);
        File.WriteAllText(Path.Combine(h.Root, "gone"), "abc");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "gone", out ulong gone, out _));
        Assert.Equal(0, h.Client.Unlink(h.RootHandle, "gone", false));
        FillCap(h);
        Assert.Equal(0, h.Client.Stat(gone, out var st));
        Assert.Equal(3, st.Size);
        Assert.Equal(0UL, st.Nlink);
    }

    [Fact]
    public void AFileReplacedBehindTheGofersBackIsNotMistakenForTheNewOne()
    {
        using var h = new GoferHarness(maxOpenHandles: Cap);
        string path = Path.Combine(h.Root, "f");
        File.WriteAllText(path, "old");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong f, out _));
        FillCap(h);
        // Made while the old file exists (so it cannot reuse its inode number), then put in its place.
        File.WriteAllText(path + ".new", "a new file");
        File.Move(path + ".new", path, overwrite: true);
        Assert.Equal(-Errno.EBADF, h.Client.Stat(f, out _));
    }

    [Fact]
    public void ReleasedParentsStayUntilTheirChildrenGo()
    {
        using var h = new GoferHarness(maxOpenHandles: Cap);
        Directory.CreateDirectory(Path.Combine(h.Root, "p"));
        File.WriteAllText(Path.Combine(h.Root, "p", "c"), "c");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "p", out ulong p, out _));
        Assert.Equal(0, h.Client.Walk(p, "c", out ulong c, out _));
        h.Client.Release(p);
        FillCap(h);
        Assert.Equal(0, h.Client.Stat(c, out var st));
        Assert.Equal(1, st.Size);
        int before = h.ServerHandleCount;
        h.Client.Release(c);
        Assert.Equal(before - 1, h.ServerHandleCount);
        Assert.True(h.ServerOpenFds <= Cap);
    }

    /// <summary>Walks 2×cap other files so every closable fd of the earlier handles is closed.</summary>
    private static void FillCap(GoferHarness h)
    {
        string dir = Path.Combine(h.Root, "filler");
        Directory.CreateDirectory(dir);
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "filler", out ulong d, out _));
        for (int i = 0; i < 2 * Cap; i++)
        {
            File.WriteAllText(Path.Combine(dir, $"x{i}"), "");
            Assert.Equal(0, h.Client.Walk(d, $"x{i}", out _, out _));
        }
        Assert.True(h.ServerOpenFds <= Cap);
    }
}
