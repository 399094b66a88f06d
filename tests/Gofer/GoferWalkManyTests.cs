using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>Several components in one round trip: same results as one Walk each, stopping at symlinks and errors.</summary>
public sealed class GoferWalkManyTests
{
    [Fact]
    public void WalksEveryComponentAndHoldsEachHandle()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "a/b/c"));
        File.WriteAllText(Path.Combine(h.Root, "a/b/c/f"), "12345");
        int before = h.ServerHandleCount;
        Assert.Equal(0, h.Client.WalkMany(h.RootHandle, new[] { "a", "b", "c", "f" }, out List<GoferWalkStep> steps));
        Assert.Equal(4, steps.Count);
        Assert.Equal(before + 4, h.ServerHandleCount);
        Assert.Equal(5, steps[3].Stat.Size);
        Assert.Equal(GoferHarness.HostStat(Path.Combine(h.Root, "a/b")).Ino, steps[1].Stat.Ino);
        Assert.Equal(0, h.Client.Stat(steps[2].Handle, out GoferStat c));
        Assert.Equal(0x4000u, c.Mode & 0xF000);
        foreach (GoferWalkStep s in steps)
        {
            h.Client.Release(s.Handle);
        }
        Assert.Equal(before, h.ServerHandleCount);
    }

    [Fact]
    public void StopsAfterASymlinkWithoutFollowingIt()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "a"));
        File.CreateSymbolicLink(Path.Combine(h.Root, "a/out"), h.Outside);
        Assert.Equal(0, h.Client.WalkMany(h.RootHandle, new[] { "a", "out", "marker" }, out List<GoferWalkStep> steps));
        Assert.Equal(2, steps.Count);
        Assert.Equal(0xA000u, steps[1].Stat.Mode & 0xF000);
        Assert.Equal(0, h.Client.Readlink(steps[1].Handle, out string target));
        Assert.Equal(h.Outside, target);
        h.AssertMarkerUntouched();
    }

    [Fact]
    public void StopsAtTheFirstErrorKeepingTheStepsBefore()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "a"));
        File.WriteAllText(Path.Combine(h.Root, "a/file"), "");
        Assert.Equal(-Errno.ENOENT, h.Client.WalkMany(h.RootHandle, new[] { "a", "missing", "x" }, out List<GoferWalkStep> steps));
        Assert.Single(steps);
        Assert.Equal(-Errno.ENOTDIR, h.Client.WalkMany(h.RootHandle, new[] { "a", "file", "x" }, out steps));
        Assert.Equal(2, steps.Count);
        Assert.Equal(-Errno.EINVAL, h.Client.WalkMany(h.RootHandle, new[] { "a", "..", "a" }, out steps));
        Assert.Single(steps);
        Assert.Equal(-Errno.EINVAL, h.Client.WalkMany(h.RootHandle, Array.Empty<string>(), out steps));
        Assert.Equal(-Errno.EINVAL, h.Client.WalkMany(h.RootHandle, Enumerable.Repeat("a", 257).ToArray(), out steps));
        Assert.Empty(steps);
        Assert.Equal(-Errno.EBADF, h.Client.WalkMany(999, new[] { "a" }, out steps));
    }
}
