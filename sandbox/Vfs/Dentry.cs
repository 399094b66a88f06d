namespace RunscNet.Sentry.Vfs;

/// <summary>
/// A name in the tree: a child of a parent directory, pointing at an inode. Dentries cache
/// lookups (for the gofer, this is the dentry cache: entries stay valid because the Sentry
/// makes every change itself and updates the cache as it does).
/// </summary>
public sealed class Dentry
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

    /// <summary>Creates a dentry.</summary>
    public Dentry(string name, Dentry? parent, Inode inode)
    {
        Name = name;
        Parent = parent;
        Inode = inode;
    }

    /// <summary>The cached child, if any.</summary>
    internal Dentry? CachedChild(string name)
    {
        lock (this)
        {
            if (_children != null && _children.TryGetValue(name, out var d)) return d;
            return _pinned != null && _pinned.TryGetValue(name, out var p) ? p : null;
        }
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
        var d = new Dentry(name, this, inode);
        lock (this)
        {
            _missing?.Remove(name);
            if (inode.CachesLookups && Inode.CachesLookups) (_children ??= new())[name] = d;
        }
        return d;
    }

    /// <summary>Drops a child from the cache, marking it dead.</summary>
    internal void RemoveChild(string name)
    {
        lock (this)
        {
            if (_children != null && _children.Remove(name, out var d)) d.Dead = true;
        }
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
        }
        if (b != null)
        {
            b.Name = name;
            b.Parent = this;
            lock (this) (_children ??= new())[name] = b;
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
    }
}

/// <summary>Mount flags that matter to the VFS.</summary>
[Flags]
public enum MountFlags
{
    None = 0, ReadOnly = 1, NoSuid = 2, NoDev = 4, NoExec = 8,
    /// <summary>strictatime: /proc/mounts shows no relatime.</summary>
    StrictAtime = 16,
}

/// <summary>One mount: a file system (or part of one) attached at a dentry of a parent mount.</summary>
public sealed class Mount
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
public enum MountPropagation
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
public readonly record struct VfsPath(Mount Mount, Dentry Dentry)
{
    /// <summary>The inode at this location.</summary>
    public Inode Inode => Dentry.Inode;
}
