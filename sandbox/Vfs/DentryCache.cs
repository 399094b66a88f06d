namespace RunscNet.Sentry.Vfs;

/// <summary>
/// Bounds the dentries of file systems that evict (<see cref="FileSystem.EvictsDentries"/>: the
/// gofer's). A dentry there is reference counted: open files (<see cref="FileDescription.Location"/>),
/// cwd/root and executables hold it, and a referenced dentry holds its parent (as in Linux, so a
/// walk up from an open file or cwd always reaches live directories). Cached dentries nobody
/// references sit on one least-recently-used list; past <see cref="Capacity"/> of them the oldest
/// leaves are evicted: dropped from their parent, and when the inode has no other dentry its
/// gofer handle is given back (<see cref="Inode.Evicted"/>, an explicit Release message).
/// Not evicted: mount points, directories with cached children, inodes with a bound unix socket or
/// an inotify watch (their state lives on the Inode object).
/// <para>
/// A walk holds no reference on the dentries it passes (their callers take one when they keep
/// the location, e.g. open). A lookup marks the dentry recently used; eviction gives such a
/// dentry a second pass through the whole list first, so a dentry found by a walk in progress
/// is evicted only after <see cref="Capacity"/> others were looked up or added in between.
/// </para>
/// Lock order: the cache lock, then one dentry's lock at a time (never the reverse: Dentry calls
/// in here after leaving its own lock).
/// </summary>
internal static class DentryCache
{
    private static readonly object s_lock = new();
    private static readonly LinkedList<Dentry> s_unused = new();

    /// <summary>How many unreferenced cached dentries are kept (tests lower it).</summary>
    public static int Capacity { get; set; } = 4096;

    /// <summary>Unreferenced cached dentries now on the list.</summary>
    public static int UnusedCount
    {
        get { lock (s_lock) return s_unused.Count; }
    }

    /// <summary>Dentries evicted since boot (diagnostics, tests).</summary>
    public static long Evictions { get; private set; }

    /// <summary>Adds a reference (and, on the first, one on the parent).</summary>
    public static void IncRef(Dentry d)
    {
        if (!d.Evicts) return;
        lock (s_lock)
        {
            for (Dentry? cur = d; cur is { Evicts: true }; cur = cur.Parent)
            {
                if (++cur.Refs != 1) break;
                Unlist(cur);
            }
        }
    }

    /// <summary>Drops a reference; at zero the dentry becomes evictable (or is gone if dead) and drops its parent's.</summary>
    public static void DecRef(Dentry d)
    {
        if (!d.Evicts) return;
        lock (s_lock)
        {
            for (Dentry? cur = d; cur is { Evicts: true }; cur = cur.Parent)
            {
                if (--cur.Refs != 0) break;
                if (cur.Dead) Gone(cur);
                else List(cur);
            }
        }
        Trim();
    }

    /// <summary>A dentry just cached by its parent: on the list while nobody references it.</summary>
    public static void Added(Dentry d)
    {
        if (!d.Evicts) return;
        lock (s_lock)
        {
            if (d.Refs == 0 && !d.Dead) List(d);
        }
        Trim();
    }

    /// <summary>A dentry dropped from its parent (unlinked, renamed over, replaced): gone now unless referenced.</summary>
    public static void Removed(Dentry d)
    {
        if (!d.Evicts) return;
        lock (s_lock)
        {
            Unlist(d);
            if (d.Refs == 0) Gone(d);
        }
    }

    /// <summary>A referenced dentry moved from <paramref name="oldParent"/> to its new parent: moves its hold on the parent.</summary>
    public static void Moved(Dentry d, Dentry oldParent)
    {
        if (!d.Evicts) return;
        lock (s_lock)
        {
            if (d.Refs == 0 || d.Parent == oldParent) return;
            for (Dentry? cur = d.Parent; cur is { Evicts: true }; cur = cur.Parent)
            {
                if (++cur.Refs != 1) break;
                Unlist(cur);
            }
            for (Dentry? cur = oldParent; cur is { Evicts: true }; cur = cur.Parent)
            {
                if (--cur.Refs != 0) break;
                if (cur.Dead) Gone(cur);
                else List(cur);
            }
        }
    }

    /// <summary>Evicts unreferenced leaves, oldest first, until at most <see cref="Capacity"/> are listed.</summary>
    public static void Trim()
    {
        lock (s_lock)
        {
            int budget = 2 * Math.Max(0, s_unused.Count - Capacity) + 64;
            while (s_unused.Count > Capacity && budget-- > 0 && s_unused.First is { } first)
            {
                Dentry d = first.Value;
                if (d.Recent || !CanEvict(d))
                {
                    // Second chance for a dentry a walk just used; directories wait for their children.
                    d.Recent = false;
                    s_unused.Remove(first);
                    s_unused.AddLast(first);
                    continue;
                }
                Unlist(d);
                if (d.Parent is { } parent && parent.Uncache(d))
                {
                    Evictions++;
                    Gone(d);
                }
            }
        }
    }

    private static bool CanEvict(Dentry d) =>
        d.Refs == 0 && d.MountCount == 0 && !d.HasCachedChildren && d.Inode.BoundSocket == null
        && Inotify.InotifyRegistry.On(d.Inode) == null;

    private static void List(Dentry d)
    {
        if (d.Lru == null && !d.IsGone) d.Lru = s_unused.AddLast(d);
    }

    private static void Unlist(Dentry d)
    {
        if (d.Lru == null) return;
        s_unused.Remove(d.Lru);
        d.Lru = null;
    }

    /// <summary>The dentry will not be used again: its inode loses one name (and its handle with the last).</summary>
    private static void Gone(Dentry d)
    {
        if (d.IsGone) return;
        d.IsGone = true;
        if (Interlocked.Decrement(ref d.Inode.EvictableDentries) == 0) d.Inode.Evicted();
    }
}
