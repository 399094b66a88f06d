using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// The mount tree changes mount(2) and umount2(2) make (mount_namespaces(7)): bind and recursive
/// bind copies, unmounting a subtree, propagation types and the spreading of mount and unmount
/// events through peer groups. Everything here runs under <c>_mountLock</c> or takes it.
/// </summary>
internal sealed partial class VirtualFileSystem
{
    private int _nextPeerGroup;

    /// <summary>A new peer group number (mountinfo "shared:N").</summary>
    internal int NewPeerGroup() => Interlocked.Increment(ref _nextPeerGroup);

    /// <summary>The mounts attached directly to <paramref name="parent"/>, in mount order.</summary>
    private List<Mount> ChildrenOf(Mount parent, List<Mount> snapshot) => snapshot.Where(c => c.Parent == parent).ToList();

    /// <summary>True if <paramref name="d"/> is <paramref name="ancestor"/> or below it in the same file system tree.</summary>
    private static bool IsUnder(Dentry? d, Dentry ancestor)
    {
        for (int guard = 0; d != null && guard < 4096; d = d.Parent, guard++)
            if (d == ancestor) return true;
        return false;
    }

    /// <summary>mountinfo's root of a mount whose root is <paramref name="d"/> inside mount <paramref name="of"/>'s file system.</summary>
    private static string ShownRootOf(Mount of, Dentry d)
    {
        var parts = new List<string>();
        for (var cur = d; cur != null && cur != of.Root; cur = cur.Parent) parts.Add(cur.Name);
        parts.Reverse();
        string below = string.Join('/', parts);
        string top = of.ShownRoot ?? FileSystemPathOf(of.Root);
        if (below.Length == 0) return top;
        return top == "/" ? "/" + below : top + "/" + below;
    }

    /// <summary>The path of a dentry from its file system's root ("/" for the root itself).</summary>
    internal static string FileSystemPathOf(Dentry d)
    {
        var parts = new List<string>();
        for (var cur = d; cur.Parent != null; cur = cur.Parent) parts.Add(cur.Name);
        parts.Reverse();
        return "/" + string.Join('/', parts);
    }

    /// <summary>True if a mount below <paramref name="source"/> (a plain bind would leave it out) is locked.</summary>
    internal bool HasLockedChildren(VfsPath source)
    {
        lock (_mountLock)
            return _mounts.Any(c => c.Parent == source.Mount && c.Locked && c.MountPoint != null && IsUnder(c.MountPoint, source.Dentry));
    }

    /// <summary>
    /// Bind-mounts <paramref name="source"/> on <paramref name="at"/> (mount --bind, or --rbind
    /// with <paramref name="recursive"/>: the mounts below the source are copied too, as they were
    /// before this call, keeping their flags and locks). The copy of a shared mount joins its peer
    /// group, of a slave its master; a copy attached under a shared mount is made shared and the
    /// event propagates to that mount's peers.
    /// </summary>
    public Mount BindTree(VfsPath at, VfsPath source, bool recursive)
    {
        List<Mount> snapshot;
        lock (_mountLock) snapshot = new List<Mount>(_mounts);
        var top = CloneMount(source.Mount, source.Dentry);
        AttachPropagating(at, top, snapshot, recursive ? source : null);
        return top;
    }

    /// <summary>mount(2) of a new file system on <paramref name="at"/> (a shared parent passes it on to its peers).</summary>
    public Mount MountNew(VfsPath at, FileSystem fs, MountFlags flags, string source)
    {
        List<Mount> snapshot;
        lock (_mountLock) snapshot = new List<Mount>(_mounts);
        var m = new Mount(fs, new Dentry("/", null, fs.Root), flags) { Source = source };
        AttachPropagating(at, m, snapshot, null);
        return m;
    }

    /// <summary>True if a mount chosen by <paramref name="kind"/> has locked mounts on it (a new mount of that kind would show what they hide).</summary>
    internal bool HasLockedMasks(Func<Mount, bool> kind)
    {
        lock (_mountLock)
            return _mounts.Any(c => c.Locked && c.Parent != null && kind(c.Parent));
    }

    private Mount CloneMount(Mount of, Dentry root)
    {
        var m = new Mount(of.FileSystem, root, of.Flags)
        {
            Source = of.Source,
            ShownRoot = root == of.Root ? of.ShownRoot : ShownRootOf(of, root),
            Locked = false,
        };
        if (of.Propagation == MountPropagation.Shared) { m.Propagation = MountPropagation.Shared; m.PeerGroup = of.PeerGroup; }
        else if (of.Propagation == MountPropagation.Slave) { m.Propagation = MountPropagation.Slave; m.MasterGroup = of.MasterGroup; }
        return m;
    }

    /// <summary>Copies the mounts below <paramref name="from"/> (within <paramref name="snapshot"/>) onto <paramref name="to"/>.</summary>
    private void CopyChildren(Mount from, Dentry fromRoot, Mount to, List<Mount> snapshot)
    {
        foreach (var c in ChildrenOf(from, snapshot))
        {
            if (c.MountPoint == null || !IsUnder(c.MountPoint, fromRoot)) continue;
            if (c.Propagation == MountPropagation.Unbindable) continue;   // rbind skips unbindable submounts
            var copy = CloneMount(c, c.Root);
            copy.Locked = c.Locked;
            Attach(new VfsPath(to, c.MountPoint), copy);
            CopyChildren(c, c.Root, copy, snapshot);
        }
    }

    /// <summary>
    /// Attaches <paramref name="m"/> at <paramref name="at"/> (copying the subtree of
    /// <paramref name="recursiveSource"/> under it when set), and, when the parent mount is shared,
    /// a copy at the same place in every other member of the parent's peer group and in its slaves.
    /// </summary>
    private void AttachPropagating(VfsPath at, Mount m, List<Mount> snapshot, VfsPath? recursiveSource)
    {
        var parent = at.Mount;
        Attach(at, m);
        if (recursiveSource is VfsPath src) CopyChildren(src.Mount, src.Dentry, m, snapshot);
        if (parent.Propagation != MountPropagation.Shared || parent.PeerGroup == 0) return;
        // A mount attached under a shared mount becomes shared itself (its own new peer group,
        // which the copies below join).
        if (m.Propagation != MountPropagation.Shared)
        {
            m.Propagation = MountPropagation.Shared;
            m.PeerGroup = NewPeerGroup();
        }
        List<Mount> receivers;
        lock (_mountLock)
            receivers = _mounts.Where(r => r != parent && r != m
                && ((r.Propagation == MountPropagation.Shared && r.PeerGroup == parent.PeerGroup)
                    || (r.Propagation == MountPropagation.Slave && r.MasterGroup == parent.PeerGroup))).ToList();
        foreach (var r in receivers)
        {
            if (!IsUnder(at.Dentry, r.Root)) continue;
            var copy = new Mount(m.FileSystem, m.Root, m.Flags) { Source = m.Source, ShownRoot = m.ShownRoot };
            if (r.Propagation == MountPropagation.Shared) { copy.Propagation = MountPropagation.Shared; copy.PeerGroup = m.PeerGroup; }
            else { copy.Propagation = MountPropagation.Slave; copy.MasterGroup = m.PeerGroup; }
            var point = new VfsPath(r, at.Dentry);
            Attach(CrossMounts(point), copy);
            if (recursiveSource is VfsPath s) CopyChildren(s.Mount, s.Dentry, copy, snapshot);
        }
    }

    /// <summary>
    /// Sets the propagation type of <paramref name="m"/> (and, with <paramref name="recursive"/>,
    /// of every mount below it): MS_SHARED puts it in a new peer group unless it is in one;
    /// MS_SLAVE makes a shared mount a slave of its old group (a mount without peers: private);
    /// MS_PRIVATE and MS_UNBINDABLE leave any group.
    /// </summary>
    public void SetPropagation(Mount m, MountPropagation type, bool recursive)
    {
        lock (_mountLock)
        {
            var all = new List<Mount> { m };
            if (recursive)
                for (int i = 0; i < all.Count; i++)
                    all.AddRange(_mounts.Where(c => c.Parent == all[i] && !all.Contains(c)));
            foreach (var x in all)
            {
                switch (type)
                {
                    case MountPropagation.Shared:
                        if (x.Propagation != MountPropagation.Shared) x.PeerGroup = NewPeerGroup();
                        x.Propagation = MountPropagation.Shared;
                        break;
                    case MountPropagation.Slave:
                        if (x.Propagation == MountPropagation.Shared)
                        {
                            int group = x.PeerGroup;
                            bool hasPeers = _mounts.Any(o => o != x && o.Propagation == MountPropagation.Shared && o.PeerGroup == group);
                            x.PeerGroup = 0;
                            x.MasterGroup = hasPeers ? group : 0;
                            x.Propagation = hasPeers ? MountPropagation.Slave : MountPropagation.Private;
                        }
                        else if (x.Propagation != MountPropagation.Slave) x.Propagation = MountPropagation.Private;
                        break;
                    default:
                        x.Propagation = type;
                        x.PeerGroup = 0;
                        x.MasterGroup = 0;
                        break;
                }
            }
        }
    }

    /// <summary>
    /// umount2(2) of the mount whose root is <paramref name="m"/>: EINVAL for the root mount and
    /// locked mounts; without <paramref name="detach"/>, EBUSY when other mounts sit below it (the
    /// Sentry keeps no count of open files per mount, so open files do not make it busy: it is
    /// then detached lazily, as MNT_DETACH does). The mount and everything below it leave the
    /// tree; when its parent is shared, the copies at the same place in the parent's peers and
    /// slaves go too.
    /// </summary>
    public int Unmount(Mount m, bool detach)
    {
        lock (_mountLock)
        {
            if (m == RootMount || m.Parent == null || m.MountPoint == null) return -Errno.EINVAL;
            if (m.Locked) return -Errno.EINVAL;
            bool hasChildren = _mounts.Any(c => c.Parent == m);
            if (hasChildren && !detach) return -Errno.EBUSY;
            var parent = m.Parent;
            var point = m.MountPoint;
            DetachTree(m);
            if (parent.Propagation == MountPropagation.Shared && parent.PeerGroup != 0)
            {
                foreach (var r in _mounts.Where(r => r != parent
                    && ((r.Propagation == MountPropagation.Shared && r.PeerGroup == parent.PeerGroup)
                        || (r.Propagation == MountPropagation.Slave && r.MasterGroup == parent.PeerGroup))).ToList())
                {
                    if (_mountsByPoint.TryGetValue((r, point), out var copy) && !copy.Locked
                        && copy.FileSystem == m.FileSystem && copy.Root == m.Root
                        && (detach || !_mounts.Any(c => c.Parent == copy)))
                        DetachTree(copy);
                }
            }
            return 0;
        }
    }

    /// <summary>Removes <paramref name="m"/> and every mount below it (caller holds _mountLock).</summary>
    private void DetachTree(Mount m)
    {
        foreach (var c in _mounts.Where(c => c.Parent == m).ToList()) DetachTree(c);
        if (m.Parent != null && m.MountPoint != null
            && _mountsByPoint.TryGetValue((m.Parent, m.MountPoint), out var here) && here == m)
        {
            _mountsByPoint.Remove((m.Parent, m.MountPoint));
            Interlocked.Decrement(ref m.MountPoint.MountCount);
        }
        _mounts.Remove(m);
        // Files and cwds still inside keep working; their paths now read as unreachable.
        m.Parent = null;
        m.MountPoint = null;
    }
}
