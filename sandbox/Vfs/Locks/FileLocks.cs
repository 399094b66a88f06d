using System.Runtime.CompilerServices;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Locks;

/// <summary>
/// Advisory locks between the sandbox's processes: flock(2) whole-file locks (owned by the open
/// file description) and fcntl(2) record locks (owned by the process for F_SETLK, by the open
/// file description for F_OFD_SETLK), kept per inode. Waits are interruptible.
/// </summary>
internal static class FileLocks
{
    /// <summary>Lock types (F_RDLCK, F_WRLCK, F_UNLCK).</summary>
    public const int ReadLock = 0, WriteLock = 1, Unlock = 2;

    private sealed class RangeLock
    {
        public required object Owner;
        public int Type;
        public long Start;
        /// <summary>Exclusive end; long.MaxValue = to end of file.</summary>
        public long End;
        public int Pid;
    }

    private sealed class InodeLocks
    {
        public readonly List<(FileDescription Owner, int Type)> Flocks = new();
        public readonly List<RangeLock> Ranges = new();
        public readonly WaitQueue Queue = new();
    }

    private static readonly ConditionalWeakTable<Inode, InodeLocks> s_locks = new();
    private static readonly object s_lock = new();

    private static InodeLocks For(Inode inode) => s_locks.GetValue(inode, _ => new InodeLocks());

    /// <summary>
    /// flock(2): LOCK_SH (1), LOCK_EX (2), LOCK_UN (8), with LOCK_NB (4) giving EWOULDBLOCK
    /// instead of waiting. A second flock on the same description converts the lock.
    /// </summary>
    public static int Flock(Task task, FileDescription file, int operation)
    {
        if (file.Inode is not { } inode) return 0;
        bool nb = (operation & 4) != 0;
        int op = operation & ~4;
        var l = For(inode);
        if (op == 8)
        {
            lock (s_lock) l.Flocks.RemoveAll(e => e.Owner == file);
            l.Queue.Notify();
            return 0;
        }
        if (op != 1 && op != 2) return -Errno.EINVAL;
        int type = op == 1 ? ReadLock : WriteLock;
        bool Free()
        {
            foreach (var (o, t) in l.Flocks)
                if (o != file && (t == WriteLock || type == WriteLock)) return false;
            return true;
        }
        while (true)
        {
            lock (s_lock)
            {
                if (Free())
                {
                    l.Flocks.RemoveAll(e => e.Owner == file);
                    l.Flocks.Add((file, type));
                    return 0;
                }
                // Converting drops the old lock first, as Linux does.
                l.Flocks.RemoveAll(e => e.Owner == file);
            }
            l.Queue.Notify();
            if (nb) return -Errno.EAGAIN;
            if (task.Block(() => { lock (s_lock) return Free(); }, l.Queue) == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        }
    }

    /// <summary>Drops every lock owned by <paramref name="owner"/> (a closing description, or a process closing the file).</summary>
    public static void ReleaseOwner(Inode inode, object owner)
    {
        if (!s_locks.TryGetValue(inode, out var l)) return;
        bool changed;
        lock (s_lock)
        {
            changed = l.Ranges.RemoveAll(r => r.Owner == owner) > 0;
            if (owner is FileDescription fd) changed |= l.Flocks.RemoveAll(e => e.Owner == fd) > 0;
        }
        if (changed) l.Queue.Notify();
    }

    private static RangeLock? Conflict(InodeLocks l, object owner, int type, long start, long end)
    {
        foreach (var r in l.Ranges)
        {
            if (r.Owner == owner) continue;
            if (r.Start >= end || start >= r.End) continue;
            if (r.Type == WriteLock || type == WriteLock) return r;
        }
        return null;
    }

    /// <summary>F_GETLK: the first lock that would block [start, end) of <paramref name="type"/>, or null.</summary>
    public static (int Type, long Start, long End, int Pid)? Test(Inode inode, object owner, int type, long start, long end)
    {
        var l = For(inode);
        lock (s_lock)
        {
            var c = Conflict(l, owner, type, start, end);
            return c == null ? null : (c.Type, c.Start, c.End, c.Pid);
        }
    }

    /// <summary>F_SETLK/F_SETLKW: sets, converts or removes <paramref name="owner"/>'s lock on [start, end); EAGAIN or waits on conflict.</summary>
    public static int SetRange(Task task, Inode inode, object owner, int pid, int type, long start, long end, bool wait)
    {
        var l = For(inode);
        while (true)
        {
            lock (s_lock)
            {
                if (type == Unlock || Conflict(l, owner, type, start, end) == null)
                {
                    Replace(l, owner, pid, type, start, end);
                    l.Queue.Notify();
                    return 0;
                }
            }
            if (!wait) return -Errno.EAGAIN;
            if (task.Block(() => { lock (s_lock) return Conflict(l, owner, type, start, end) == null; }, l.Queue) == BlockResult.Interrupted)
                return -Errno.ERESTARTSYS;
        }
    }

    /// <summary>Carves [start, end) out of the owner's locks and adds the new one (adjacent same-type ranges merge).</summary>
    private static void Replace(InodeLocks l, object owner, int pid, int type, long start, long end)
    {
        var keep = new List<RangeLock>();
        foreach (var r in l.Ranges)
        {
            if (r.Owner != owner || r.Start >= end || start >= r.End) { keep.Add(r); continue; }
            if (r.Start < start) keep.Add(new RangeLock { Owner = owner, Type = r.Type, Start = r.Start, End = start, Pid = r.Pid });
            if (r.End > end) keep.Add(new RangeLock { Owner = owner, Type = r.Type, Start = end, End = r.End, Pid = r.Pid });
        }
        if (type != Unlock)
        {
            var n = new RangeLock { Owner = owner, Type = type, Start = start, End = end, Pid = pid };
            foreach (var r in keep.Where(r => r.Owner == owner && r.Type == type && (r.End == start || r.Start == end)).ToList())
            {
                n.Start = Math.Min(n.Start, r.Start);
                n.End = Math.Max(n.End, r.End);
                keep.Remove(r);
            }
            keep.Add(n);
        }
        l.Ranges.Clear();
        l.Ranges.AddRange(keep);
    }

    /// <summary>Whether any flock or record lock is held on <paramref name="inode"/> (checkpoint).</summary>
    public static bool AnyOn(Inode inode)
    {
        if (!s_locks.TryGetValue(inode, out var l)) return false;
        lock (s_lock) return l.Flocks.Count > 0 || l.Ranges.Count > 0;
    }

    /// <summary>
    /// What <paramref name="owner"/> holds on <paramref name="inode"/> (checkpoint): its flock
    /// type (-1: none; only a description has one) and its record locks, ends exclusive.
    /// </summary>
    public static (int Flock, List<(int Type, long Start, long End)> Ranges) OwnedBy(Inode inode, object owner)
    {
        var ranges = new List<(int, long, long)>();
        if (!s_locks.TryGetValue(inode, out var l)) return (-1, ranges);
        lock (s_lock)
        {
            int flock = -1;
            foreach (var (o, t) in l.Flocks)
                if (ReferenceEquals(o, owner)) flock = t;
            foreach (var r in l.Ranges)
                if (ReferenceEquals(r.Owner, owner)) ranges.Add((r.Type, r.Start, r.End));
            ranges.Sort((a, b) => a.Item2.CompareTo(b.Item2));
            return (flock, ranges);
        }
    }

    /// <summary>Restore: gives <paramref name="owner"/> a flock of <paramref name="type"/>; false when it conflicts with one held (a malformed image).</summary>
    public static bool RestoreFlock(Inode inode, FileDescription owner, int type)
    {
        if (type is not (ReadLock or WriteLock)) return false;
        var l = For(inode);
        lock (s_lock)
        {
            foreach (var (o, t) in l.Flocks)
                if (o == owner || t == WriteLock || type == WriteLock) return false;
            l.Flocks.Add((owner, type));
            return true;
        }
    }

    /// <summary>Restore: gives <paramref name="owner"/> a record lock on [start, end); false when malformed or in conflict with one held.</summary>
    public static bool RestoreRange(Inode inode, object owner, int pid, int type, long start, long end)
    {
        if (type is not (ReadLock or WriteLock) || start < 0 || end <= start) return false;
        var l = For(inode);
        lock (s_lock)
        {
            if (Conflict(l, owner, type, start, end) != null) return false;
            Replace(l, owner, pid, type, start, end);
            return true;
        }
    }

    /// <summary>Every owner of a lock on <paramref name="inode"/>: descriptions (flock, OFD locks) and fd tables (POSIX locks).</summary>
    public static List<object> Owners(Inode inode)
    {
        var owners = new List<object>();
        if (!s_locks.TryGetValue(inode, out var l)) return owners;
        lock (s_lock)
        {
            foreach (var (o, _) in l.Flocks) owners.Add(o);
            foreach (var r in l.Ranges) owners.Add(r.Owner);
        }
        return owners;
    }
}
