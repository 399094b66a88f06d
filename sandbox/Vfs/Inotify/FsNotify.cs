using System.Runtime.CompilerServices;

namespace RunscNet.Sentry.Vfs.Inotify;

/// <summary>
/// Which inotify watches exist, by inode. Inodes without watches cost one volatile read per
/// file operation (<see cref="Any"/>).
/// </summary>
internal static class InotifyRegistry
{
    private static readonly ConditionalWeakTable<Inode, List<InotifyWatch>> s_watches = new();
    private static int s_count;

    /// <summary>True when some watch exists anywhere.</summary>
    public static bool Any => Volatile.Read(ref s_count) > 0;

    public static void Add(InotifyWatch w)
    {
        var list = s_watches.GetOrCreateValue(w.Inode);
        lock (list) list.Add(w);
        Interlocked.Increment(ref s_count);
    }

    public static void Remove(InotifyWatch w)
    {
        if (!s_watches.TryGetValue(w.Inode, out var list)) return;
        lock (list)
        {
            if (list.Remove(w)) Interlocked.Decrement(ref s_count);
        }
    }

    /// <summary>The watches on <paramref name="inode"/> (a snapshot), or null.</summary>
    public static InotifyWatch[]? On(Inode inode)
    {
        if (!s_watches.TryGetValue(inode, out var list)) return null;
        lock (list) return list.Count == 0 ? null : list.ToArray();
    }
}

/// <summary>
/// The Sentry's file operations report here what inotify(7) watches may want (fsnotify in
/// Linux): each method turns one operation into the events Linux generates, on the inode itself
/// and, with the name, on its parent directory. Only operations made through the Sentry are
/// seen; changes the host makes to gofer-backed files are not.
/// </summary>
internal static class FsNotify
{
    private static int s_cookie;

    /// <summary>True when an inotify watch or a dnotify mark exists anywhere.</summary>
    private static bool Watched => InotifyRegistry.Any || Dnotify.Any;

    private static void Event(Inode inode, uint mask, uint cookie = 0, string? name = null)
    {
        if (Dnotify.Any) Dnotify.Event(inode, mask);
        var watches = InotifyRegistry.On(inode);
        if (watches == null) return;
        foreach (var w in watches) w.Owner.Deliver(w, mask, cookie, name);
    }

    private static uint IsDir(Inode inode) => inode.IsDirectory ? InotifyMask.IN_ISDIR : 0;

    /// <summary>An event on a file, reported to its parent's watches with its name, then to its own.</summary>
    private static void OnChild(Dentry d, uint mask)
    {
        var inode = d.Inode;
        mask |= IsDir(inode);
        if (!d.Dead && d.Parent is { } parent && parent.Inode != inode) Event(parent.Inode, mask, 0, d.Name);
        Event(inode, mask);
    }

    /// <summary>The last link of <paramref name="inode"/> is gone: IN_DELETE_SELF, then IN_IGNORED for every watch.</summary>
    private static void Gone(Inode inode)
    {
        var watches = InotifyRegistry.On(inode);
        if (watches == null) return;
        foreach (var w in watches)
        {
            w.Owner.Deliver(w, InotifyMask.IN_DELETE_SELF, 0, null);
            w.Owner.InodeGone(w);
        }
    }

    private static bool LastLinkGone(Inode inode)
    {
        if (inode.IsDirectory) return true;
        return inode.Stat(out var a) != 0 || a.Nlink == 0;
    }

    [ThreadStatic] private static bool t_quiet;

    /// <summary>
    /// Set while this thread opens, reads and closes files for the Sentry itself (a restore
    /// reopening a mapped file): no application did, so no event is queued.
    /// </summary>
    public static bool Quiet { get => t_quiet; set => t_quiet = value; }

    /// <summary>open(2) succeeded: IN_OPEN (not for O_PATH).</summary>
    public static void Opened(FileDescription file)
    {
        if (!Watched || t_quiet || file is PathFile || file.Location is not { } loc) return;
        OnChild(loc.Dentry, InotifyMask.IN_OPEN);
    }

    /// <summary>The last reference to an open file went: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE.</summary>
    public static void Closed(FileDescription file)
    {
        if (!Watched || t_quiet || file is PathFile || file.Location is not { } loc) return;
        OnChild(loc.Dentry, file.Writable ? InotifyMask.IN_CLOSE_WRITE : InotifyMask.IN_CLOSE_NOWRITE);
    }

    /// <summary>A read returned data: IN_ACCESS.</summary>
    public static void Accessed(FileDescription file)
    {
        if (!Watched || t_quiet || file.Location is not { } loc) return;
        OnChild(loc.Dentry, InotifyMask.IN_ACCESS);
    }

    /// <summary>A write stored data: IN_MODIFY.</summary>
    public static void Modified(FileDescription file)
    {
        if (!Watched || file.Location is not { } loc) return;
        OnChild(loc.Dentry, InotifyMask.IN_MODIFY);
    }

    /// <summary>An attribute change (notify_change): size → IN_MODIFY, owner/mode/both times → IN_ATTRIB, atime alone → IN_ACCESS.</summary>
    public static void AttributesChanged(VfsPath loc, SetAttrMask changed)
    {
        if (!Watched) return;
        uint mask = 0;
        if ((changed & (SetAttrMask.Uid | SetAttrMask.Gid | SetAttrMask.Mode)) != 0) mask |= InotifyMask.IN_ATTRIB;
        if ((changed & SetAttrMask.Size) != 0) mask |= InotifyMask.IN_MODIFY;
        bool atime = (changed & (SetAttrMask.Atime | SetAttrMask.AtimeNow)) != 0;
        bool mtime = (changed & (SetAttrMask.Mtime | SetAttrMask.MtimeNow)) != 0;
        if (atime && mtime) mask |= InotifyMask.IN_ATTRIB;
        else if (atime) mask |= InotifyMask.IN_ACCESS;
        else if (mtime) mask |= InotifyMask.IN_MODIFY;
        if (mask != 0) OnChild(loc.Dentry, mask);
    }

    /// <summary>A name was created in <paramref name="parent"/> (open O_CREAT, mkdir, mknod, symlink, bind): IN_CREATE.</summary>
    public static void Created(VfsPath parent, string name, Inode child)
    {
        if (!Watched) return;
        Event(parent.Inode, InotifyMask.IN_CREATE | IsDir(child), 0, name);
    }

    /// <summary>link(2): IN_ATTRIB on the file (its link count), IN_CREATE in the new parent.</summary>
    public static void Linked(VfsPath parent, string name, Inode target)
    {
        if (!Watched) return;
        Event(target, InotifyMask.IN_ATTRIB);
        Event(parent.Inode, InotifyMask.IN_CREATE, 0, name);
    }

    /// <summary>
    /// unlink(2)/rmdir(2): a file gets IN_ATTRIB (its link count); when its last link went, its
    /// watches get IN_DELETE_SELF and IN_IGNORED (at once, even if the file is still open); then
    /// the parent gets IN_DELETE.
    /// </summary>
    public static void Removed(VfsPath parent, string name, Inode child)
    {
        if (!Watched) return;
        bool dir = child.IsDirectory;
        if (!dir) Event(child, InotifyMask.IN_ATTRIB);
        if (LastLinkGone(child)) Gone(child);
        Event(parent.Inode, InotifyMask.IN_DELETE | (dir ? InotifyMask.IN_ISDIR : 0), 0, name);
    }

    /// <summary>
    /// rename(2): IN_MOVED_FROM and IN_MOVED_TO with one cookie, IN_ATTRIB on a replaced file
    /// (then its IN_DELETE_SELF/IN_IGNORED if that was its last link), IN_MOVE_SELF on the moved file.
    /// </summary>
    public static void Renamed(VfsPath oldParent, string oldName, VfsPath newParent, string newName, Inode moved, Inode? replaced)
    {
        if (!Watched) return;
        uint cookie = (uint)Interlocked.Increment(ref s_cookie);
        uint dir = IsDir(moved);
        Event(oldParent.Inode, InotifyMask.IN_MOVED_FROM | dir, cookie, oldName);
        Event(newParent.Inode, InotifyMask.IN_MOVED_TO | dir, cookie, newName);
        if (replaced != null && !replaced.IsDirectory) Event(replaced, InotifyMask.IN_ATTRIB);
        Event(moved, InotifyMask.IN_MOVE_SELF);
        if (replaced != null && LastLinkGone(replaced)) Gone(replaced);
    }
}
