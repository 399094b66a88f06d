using RunscNet.StateFile;
using Xunit;
using SF = RunscNet.StateFile.StateFile;

namespace RunscNet.Tests.StateFile;

public sealed class StateDirectoryTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private void Create(string cid, string? sid = null)
    {
        using var sf = new SF(_root.Path, new FullId(sid ?? cid, cid));
        sf.LockForNew();
        sf.SaveLocked(new ContainerState { Id = cid, SandboxId = sid ?? cid });
    }

    [Fact]
    public void FindsExactIdsAndUniquePrefixes()
    {
        Create("alpha1");
        Create("alpha2");
        Create("beta");
        Assert.Equal(new FullId("beta", "beta"), StateDirectory.Find(_root.Path, "beta"));
        Assert.Equal(new FullId("beta", "beta"), StateDirectory.Find(_root.Path, "b"));
        Assert.Equal("alpha2", StateDirectory.Find(_root.Path, "alpha2").ContainerId);
        Assert.Throws<AmbiguousContainerIdException>(() => StateDirectory.Find(_root.Path, "alpha"));
        Assert.Throws<ContainerNotFoundException>(() => StateDirectory.Find(_root.Path, "gamma"));
        Assert.Throws<ContainerNotFoundException>(() => StateDirectory.Find(_root.Path, "b", exact: true));
    }

    [Fact]
    public void AnExactIdWinsOverLongerIdsItPrefixes()
    {
        Create("web");
        Create("web2");
        Assert.Equal("web", StateDirectory.Find(_root.Path, "web").ContainerId);
    }

    [Fact]
    public void ListsContainersAndSandboxes()
    {
        Create("a", "pod1");
        Create("b", "pod1");
        Create("c");
        Assert.Equal(new[] { "a", "b", "c" }, StateDirectory.ListContainers(_root.Path).Select(f => f.ContainerId));
        Assert.Equal(new[] { "c", "pod1" }, StateDirectory.ListSandboxes(_root.Path));
        Assert.Equal(2, StateDirectory.ListSandboxContainers(_root.Path, "pod1").Count);
    }

    [Fact]
    public void AMissingRootListsNothing()
    {
        Assert.Empty(StateDirectory.ListContainers(Path.Combine(_root.Path, "nope")));
        Assert.Throws<ContainerNotFoundException>(() => StateDirectory.Find(Path.Combine(_root.Path, "nope"), "x"));
    }

    [Fact]
    public void OrphanLocksAreFoundOnlyWhenAsked()
    {
        using (var sf = new SF(_root.Path, new FullId("half", "half")))
        {
            sf.LockForNew(); // died before its first save
        }
        Assert.Empty(StateDirectory.ListContainers(_root.Path));
        Assert.Single(StateDirectory.ListOrphanLocks(_root.Path));
        Assert.Throws<ContainerNotFoundException>(() => StateDirectory.Find(_root.Path, "half"));
        Assert.Equal("half", StateDirectory.Find(_root.Path, "half", includeOrphanLocks: true).ContainerId);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("-flag")]
    [InlineData("")]
    [InlineData("sp ace")]
    [InlineData("colon:x")]
    public void RejectsIdsThatCouldEscapeTheRoot(string id)
    {
        Assert.Throws<InvalidContainerIdException>(() => StateDirectory.Find(_root.Path, id));
        Assert.False(ContainerId.IsValid(id));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("my_container.v1-2")]
    public void AcceptsIdsOfTheRule(string id) => Assert.True(ContainerId.IsValid(id));

    [Fact]
    public void LimitsIdLength()
    {
        Assert.True(ContainerId.IsValid(new string('a', ContainerId.MaxLength)));
        Assert.False(ContainerId.IsValid(new string('a', ContainerId.MaxLength + 1)));
        // The longest pair of IDs still makes a valid file name.
        string longest = new('a', ContainerId.MaxLength);
        using var sf = new SF(_root.Path, new FullId(longest, longest));
        sf.LockForNew();
        sf.SaveLocked(new ContainerState { Id = longest, SandboxId = longest });
        Assert.Equal(longest, StateDirectory.Find(_root.Path, "aaa").ContainerId);
    }
}
