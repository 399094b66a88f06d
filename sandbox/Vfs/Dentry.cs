namespace RunscNet.Sentry.Vfs;

/// <summary>
/// A name in the tree: a child of a parent directory, pointing at an inode. Dentries cache
/// lookups (for the gofer, this is the dentry cache: entries stay valid because the Sentry
/// makes every change itself and updates the cache as it does). On file systems that evict
/// (the gofer's), dentries are reference counted and unused ones are evicted (<see cref="DentryCache"/>).
/// </summary>
internal sealed class Dentry
{
    private Dictionary<string, Dentry>? _children;
    private HashSet<string>? _missing;

    /// <summary>The name in the parent ("/" for a file system root).</summary>
    public string Name { get; internal set; }

    /// <summary>The parent directory; null for a file system root.</summary>
    public Dentry? Parent { get; internal set; }

    /// <summary>The file this name refers to.</summary>
    public Inode Inode { get; internal set; }

    /// <summary>True once the name was unlinked or renamed over (kept alive by open files and cwds).</summary>
    public bool Dead { get; internal set; }

    /// <summary>How many mounts sit on this dentry (fast check in the walk).</summary>
    internal int MountCount;

    /// <summary>True for a dentry under <see cref="DentryCache"/>'s rules (a non-root dentry of an evicting file system).</summary>
    internal readonly bool Evicts;

    /// <summary>References (open files, cwd/root, executables, referenced children); under the cache lock.</summary>
    internal int Refs;

    /// <summary>Place on the cache's unused list; under the cache lock.</summary>
    internal LinkedListNode<Dentry>? Lru;

    /// <summary>Set by a lookup that found this dentry: eviction passes it over once.</summary>
    internal bool Recent;

    /// <summary>True once the dentry was evicted or died with no reference left (its inode lost this name).</summary>
    internal bool IsGone;

    private bool _sticky;

    /// <summary>Creates a dentry.</summary>
    public Dentry(string name, Dentry? parent, Inode inode)
    {
        Name = name;
        Parent = parent;
        Inode = inode;
        Evicts = parent != null && inode.FileSystem.EvictsDentries;
        if (Evicts) Interlocked.Increment(ref inode.EvictableDentries);
    }

    /// <summary>Adds a reference (an open file's location, a cwd): the dentry and its ancestors stay cached.</summary>
    public void IncRef() => DentryCache.IncRef(this);

    /// <summary>Drops a reference taken with <see cref="IncRef"/>.</summary>
    public void DecRef() => DentryCache.DecRef(this);

    /// <summary>
    /// Keeps the dentry for the rest of the sandbox's life (cwd/root and executables, whose holders
    /// have no release hook yet); once per dentry.
    /// </summary>
    public void PinForever()
    {
        if (!Evicts || _sticky) return;
        lock (this)
        {
            if (_sticky) return;
            _sticky = true;
        }
        IncRef();
    }

    /// <summary>True when children are cached under this dentry (it is then not evicted).</summary>
    internal bool HasCachedChildren
    {
        get { lock (this) return (_children != null && _children.Count > 0) || (_pinned != null && _pinned.Count > 0); }
    }

    /// <summary>Drops <paramref name="child"/> from the cache if it is still this directory's entry (eviction).</summary>
    internal bool Uncache(Dentry child)
    {
        lock (this)
        {
            if (_children == null || !_children.TryGetValue(child.Name, out var d) || d != child) return false;
            _children.Remove(child.Name);
            return true;
        }
    }

    /// <summary>The cached child, if any.</summary>
    internal Dentry? CachedChild(string name)
    {
        lock (this)
        {
            if (_children != null && _children.TryGetValue(name, out var d))
            {
                d.Recent = true;
                return d;
            }
            return _pinned != null && _pinned.TryGetValue(name, out var p) ? p : null;
        }
    }

    /// <summary>
    /// Caches a child found by a lookup, unless a concurrent lookup cached one first: then that one
    /// is returned and <paramref name="inode"/> given back (<see cref="Inode.Evicted"/>).
    /// </summary>
    internal Dentry AddLookedUp(string name, Inode inode)
    {
        lock (this)
        {
            if (_children != null && _children.TryGetValue(name, out var existing))
            {
                existing.Recent = true;
                if (existing.Inode != inode) inode.Evicted();
                return existing;
            }
        }
        return AddChild(name, inode);
    }

    // Children something is mounted on, kept even where lookups are not cached (/proc/sys), so
    // every walk reaches the same dentry and crosses into the mount.
    private Dictionary<string, Dentry>? _pinned;

    /// <summary>Keeps <paramref name="child"/> as this directory's entry for its name (a mount point).</summary>
    internal void Pin(Dentry child)
    {
        lock (this) (_pinned ??= new())[child.Name] = child;
    }

    /// <summary>True if a lookup of <paramref name="name"/> found nothing and nothing has been created under that name since.</summary>
    internal bool KnownMissing(string name)
    {
        lock (this) return _missing != null && _missing.Contains(name);
    }

    /// <summary>
    /// Remembers that <paramref name="name"/> does not exist, on file systems that allow it
    /// (<see cref="FileSystem.CachesMissingNames"/>); every creation goes through
    /// <see cref="AddChild"/> or <see cref="MoveChild"/>, which forget it.
    /// </summary>
    internal void AddMissing(string name)
    {
        if (!Inode.CachesLookups || !Inode.FileSystem.CachesMissingNames) return;
        lock (this)
        {
            if (Dead || (_children != null && _children.ContainsKey(name))) return;
            (_missing ??= new()).Add(name);
        }
    }

    /// <summary>Caches (or replaces) a child.</summary>
    internal Dentry AddChild(string name, Inode inode)
    {
        // Recent: the caller is about to use it (a walk in progress), so eviction passes it over once.
        var d = new Dentry(name, this, inode) { Recent = true };
        Dentry? replaced = null;
        bool cached = false;
        lock (this)
        {
            _missing?.Remove(name);
            if (inode.CachesLookups && Inode.CachesLookups)
            {
                _children ??= new();
                if (_children.Remove(name, out replaced)) replaced.Dead = true;
                _children[name] = d;
                cached = true;
            }
        }
        if (replaced != null) DentryCache.Removed(replaced);
        if (cached) DentryCache.Added(d);
        return d;
    }

    /// <summary>Drops a child from the cache, marking it dead.</summary>
    internal void RemoveChild(string name)
    {
        Dentry? d;
        lock (this)
        {
            if (_children == null || !_children.Remove(name, out d)) return;
            d.Dead = true;
        }
        DentryCache.Removed(d);
    }

    /// <summary>Swaps cached child <paramref name="name"/> with <paramref name="otherParent"/>'s <paramref name="otherName"/> (RENAME_EXCHANGE).</summary>
    internal void ExchangeChild(string name, Dentry otherParent, string otherName)
    {
        Dentry? a, b;
        lock (this)
        {
            if (_children == null || !_children.Remove(name, out a)) a = null;
        }
        lock (otherParent)
        {
            if (otherParent._children == null || !otherParent._children.Remove(otherName, out b)) b = null;
        }
        if (a != null)
        {
            a.Name = otherName;
            a.Parent = otherParent;
            lock (otherParent) (otherParent._children ??= new())[otherName] = a;
            DentryCache.Moved(a, this);
        }
        if (b != null)
        {
            b.Name = name;
            b.Parent = this;
            lock (this) (_children ??= new())[name] = b;
            DentryCache.Moved(b, otherParent);
        }
    }

    /// <summary>Moves a cached child to <paramref name="newParent"/>/<paramref name="newName"/> (rename).</summary>
    internal void MoveChild(string oldName, Dentry newParent, string newName)
    {
        Dentry? d;
        lock (this)
        {
            if (_children == null || !_children.Remove(oldName, out d)) d = null;
        }
        newParent.RemoveChild(newName);
        lock (newParent) newParent._missing?.Remove(newName);
        if (d == null) return;
        d.Name = newName;
        d.Parent = newParent;
        lock (newParent) (newParent._children ??= new())[newName] = d;
        DentryCache.Moved(d, this);
    }
}

/// <summary>Mount flags that matter to the VFS.</summary>
[Flags]
internal enum MountFlags
{
    None = 0, ReadOnly = 1, NoSuid = 2, NoDev = 4, NoExec = 8,
    /// <summary>strictatime: /proc/mounts shows no relatime.</summary>
    StrictAtime = 16,
}

/// <summary>One mount: a file system (or part of one) attached at a dentry of a parent mount.</summary>
internal sealed class Mount
{
    private static int s_nextId = 1;

    /// <summary>Mount ID (/proc/self/mountinfo).</summary>
    public int Id { get; } = Interlocked.Increment(ref s_nextId);

    /// <summary>The file system mounted here.</summary>
    public FileSystem FileSystem { get; }

    /// <summary>The root dentry of this mount.</summary>
    public Dentry Root { get; }

    /// <summary>The mount this one is attached to (null for the root mount).</summary>
    public Mount? Parent { get; internal set; }

    /// <summary>The dentry in <see cref="Parent"/> this mount covers.</summary>
    public Dentry? MountPoint { get; internal set; }

    /// <summary>Flags (read-only, noexec...).</summary>
    public MountFlags Flags { get; set; }

    /// <summary>The source shown in /proc/mounts.</summary>
    public string Source { get; set; } = "none";

    /// <summary>Creates a mount of <paramref name="root"/>.</summary>
    public Mount(FileSystem fs, Dentry root, MountFlags flags)
    {
        FileSystem = fs;
        Root = root;
        Flags = flags;
    }

    /// <summary>True for read-only mounts.</summary>
    public bool ReadOnly => (Flags & MountFlags.ReadOnly) != 0;

    /// <summary>
    /// Set on the masks of linux.maskedPaths and the mounts of linux.readonlyPaths, as Linux locks
    /// (MNT_LOCKED) the mounts a less privileged mount namespace inherits: the container cannot
    /// unmount them (EINVAL), clear their read-only flag (EPERM) or bind the directory under them
    /// without them (EINVAL), so what they hide stays hidden even with CAP_SYS_ADMIN.
    /// </summary>
    public bool Locked { get; set; }

    /// <summary>
    /// mountinfo's root field: the path of this mount's root inside its file system ("/" for a
    /// whole file system). Null: computed from the root dentry's path in its file system.
    /// </summary>
    public string? ShownRoot { get; set; }

    /// <summary>How mount events propagate to and from this mount (mount_namespaces(7)).</summary>
    public MountPropagation Propagation { get; set; }

    /// <summary>The peer group of a shared mount (mountinfo "shared:N"), else 0.</summary>
    public int PeerGroup { get; set; }

    /// <summary>The peer group a slave mount receives events from (mountinfo "master:N"), else 0.</summary>
    public int MasterGroup { get; set; }
}

/// <summary>Propagation type of a mount (mount_namespaces(7)).</summary>
internal enum MountPropagation
{
    /// <summary>Neither sends nor receives mount events.</summary>
    Private,
    /// <summary>Member of a peer group: events propagate between all of its members.</summary>
    Shared,
    /// <summary>Receives the events of its master group, sends none.</summary>
    Slave,
    /// <summary>Private, and cannot be the source of a bind mount (EINVAL).</summary>
    Unbindable,
}

/// <summary>A location in the tree: a dentry seen through a mount.</summary>
internal readonly record struct VfsPath(Mount Mount, Dentry Dentry)
{
    /// <summary>The inode at this location.</summary>
    public Inode Inode => Dentry.Inode;
}
