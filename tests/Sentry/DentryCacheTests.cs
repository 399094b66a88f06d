using RunscNet.Sentry.Vfs;
using Xunit;

namespace RunscNet.Tests.Sentry;

/// <summary>
/// The dentry cache of evicting file systems (DentryCache): unreferenced leaves are evicted past
/// the capacity and their inodes told (Evicted: the gofer handle goes back); referenced dentries,
/// their ancestors, mount points and directories with children stay; a dead dentry's inode is told
/// when its last reference goes.
/// </summary>
[Collection(DentryCacheCollection.Name)]
public sealed class DentryCacheTests : IDisposable
{
    private readonly int _savedCapacity = DentryCache.Capacity;

    public DentryCacheTests()
    {
        DentryCache.Capacity = int.MaxValue; // nothing goes until Evict
    }

    public void Dispose() => DentryCache.Capacity = _savedCapacity;

    private sealed class Fs : FileSystem
    {
        public Fs() => Root = new Node(this, true);
        public override string TypeName => "test";
        public override Inode Root { get; }
        public override bool EvictsDentries => true;
    }

    private sealed class Node(FileSystem fs, bool dir) : Inode(fs)
    {
        public int EvictedCalls;
        public override InodeAttr Attr => new() { Mode = dir ? 0x41edu : 0x81a4u };
        public override void Evicted() => EvictedCalls++;
    }

    private static (Dentry Root, Fs Fs) Tree()
    {
        var fs = new Fs();
        return (new Dentry("/", null, fs.Root), fs);
    }

    /// <summary>Evicts everything evictable: twice, since the first pass uses up a recent dentry's second chance.</summary>
    private static void Evict()
    {
        DentryCache.Capacity = 0;
        DentryCache.Trim();
        DentryCache.Trim();
        DentryCache.Capacity = int.MaxValue;
    }

    [Fact]
    public void UnreferencedLeavesAreEvictedAndTheirInodesTold()
    {
        var (root, fs) = Tree();
        var inode = new Node(fs, false);
        var d = root.AddChild("f", inode);
        Evict();
        Assert.Null(root.CachedChild("f"));
        Assert.Equal(1, inode.EvictedCalls);
        Assert.True(d.IsGone);
    }

    [Fact]
    public void AReferencedDentryAndItsAncestorsStay()
    {
        var (root, fs) = Tree();
        var dirInode = new Node(fs, true);
        var dir = root.AddChild("dir", dirInode);
        var file = dir.AddChild("f", new Node(fs, false));
        file.IncRef();
        Evict();
        Assert.Same(dir, root.CachedChild("dir"));
        Assert.Same(file, dir.CachedChild("f"));
        Assert.Equal(0, dirInode.EvictedCalls);
        file.DecRef();
        Evict();
        Evict();
        Assert.Null(root.CachedChild("dir"));
        Assert.Equal(1, dirInode.EvictedCalls);
    }

    [Fact]
    public void AnUnlinkedOpenFileIsToldWhenItsLastReferenceGoes()
    {
        var (root, fs) = Tree();
        var inode = new Node(fs, false);
        var d = root.AddChild("f", inode);
        d.IncRef();
        root.RemoveChild("f");
        Assert.True(d.Dead);
        Assert.Equal(0, inode.EvictedCalls);
        d.DecRef();
        Assert.Equal(1, inode.EvictedCalls);
    }

    [Fact]
    public void AHardLinkKeepsTheInodeUntilItsLastNameGoes()
    {
        var (root, fs) = Tree();
        var inode = new Node(fs, false);
        var a = root.AddChild("a", inode);
        a.IncRef();
        root.AddChild("b", inode);
        Evict();
        Assert.Null(root.CachedChild("b"));
        Assert.Equal(0, inode.EvictedCalls);
        a.DecRef();
        Evict();
        Assert.Equal(1, inode.EvictedCalls);
    }

    [Fact]
    public void MountPointsAreNotEvicted()
    {
        var (root, fs) = Tree();
        var mp = root.AddChild("mnt", new Node(fs, true));
        mp.MountCount++;
        Evict();
        Assert.Same(mp, root.CachedChild("mnt"));
        mp.MountCount--;
    }

    [Fact]
    public void ALostLookupRaceGivesTheNewInodeBack()
    {
        var (root, fs) = Tree();
        var first = new Node(fs, false);
        var second = new Node(fs, false);
        var d1 = root.AddLookedUp("f", first);
        var d2 = root.AddLookedUp("f", second);
        Assert.Same(d1, d2);
        Assert.Equal(1, second.EvictedCalls);
        Assert.Equal(0, first.EvictedCalls);
    }

    [Fact]
    public void AReferencedDentryMovedByRenameHoldsItsNewParent()
    {
        var (root, fs) = Tree();
        var a = root.AddChild("a", new Node(fs, true));
        var bInode = new Node(fs, true);
        var b = root.AddChild("b", bInode);
        var f = a.AddChild("f", new Node(fs, false));
        f.IncRef();
        a.MoveChild("f", b, "g");
        Evict();
        Evict();
        Assert.Null(root.CachedChild("a"));
        Assert.Same(b, root.CachedChild("b"));
        Assert.Equal(1, b.Refs);
        f.DecRef();
        Assert.Equal(0, b.Refs);
    }
}

/// <summary>DentryCache is process-wide: its tests do not run in parallel with each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DentryCacheCollection
{
    public const string Name = "dentry cache";
}
