using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;

namespace RunscNet.Gofer.Server;

/// <summary>
/// The handles a server has given out: numbers (never 0, never reused) mapped to the
/// <see cref="Node"/>s they name, and a cap on the O_PATH fds those nodes keep open. Used by the
/// serving thread only.
/// <para>
/// Why a cap: the Sentry caches handles (one per cached dentry) and the gofer inherits the
/// caller's RLIMIT_NOFILE (1024 under a default shell), so a container listing a directory of a
/// few thousand files would make the gofer fail with EMFILE. At most <see cref="Capacity"/> fds
/// stay open; past that the least recently used node that can be reopened by (parent directory,
/// name) has its fd closed, and <see cref="Find"/> reopens it when the Sentry uses the handle
/// again, checking that (dev, ino) did not change (else ESTALE, answered as EBADF). Attach points
/// and files whose name was unlinked or renamed over are pinned open: no name leads back to them.
/// </para>
/// </summary>
internal sealed class HandleTable
{
    private readonly Dictionary<ulong, Node> _nodes = new();

    /// <summary>Every live node: those with a handle, and released ones kept as parents of live ones.</summary>
    private readonly HashSet<Node> _live = new();

    /// <summary>Open, closable fds, least recently used first.</summary>
    private readonly LinkedList<Node> _lru = new();
    private ulong _next = 1;

    /// <param name="capacity">The most O_PATH fds to keep open (pinned ones included in the count, never closed).</param>
    public HandleTable(int capacity) => Capacity = Math.Max(capacity, 8);

    /// <summary>
    /// The cap for a process whose RLIMIT_NOFILE is <paramref name="limit"/>: an eighth of it plus
    /// 64 stays free for everything else (the socket, /proc/self/fd, donated fds, directories
    /// opened for getdents, the .NET runtime's own).
    /// </summary>
    public static int CapacityFor(ulong limit)
    {
        ulong l = Math.Min(limit, 1UL << 20);
        return (int)Math.Max(16, (long)l - 64 - (long)(l / 8));
    }

    /// <summary>The most fds the table keeps open.</summary>
    public int Capacity { get; }

    /// <summary>Number of live handles.</summary>
    public int Count => _nodes.Count;

    /// <summary>Number of O_PATH fds held open now (at most <see cref="Capacity"/> plus pinned ones beyond it).</summary>
    public int OpenFds { get; private set; }

    /// <summary>Registers <paramref name="node"/> (its fd open) and returns its new handle.</summary>
    public ulong Add(Node node)
    {
        ulong handle = _next++;
        _nodes.Add(handle, node);
        _live.Add(node);
        if (node.Parent != null)
        {
            node.Parent.Children++;
        }
        if (node.Parent == null)
        {
            node.Pinned = true;
        }
        OpenFds++;
        Touch(node);
        Trim(node);
        return handle;
    }

    /// <summary>
    /// The node of <paramref name="handle"/> with its fd open (reopened if the cap closed it), or
    /// null when the handle is unknown or the file cannot be reopened (the caller answers EBADF).
    /// </summary>
    public Node? Find(ulong handle)
    {
        if (!_nodes.TryGetValue(handle, out Node? node))
        {
            return null;
        }
        return Open(node) < 0 ? null : node;
    }

    /// <summary>Makes sure <paramref name="node"/>'s fd is open and marks it used. Returns 0 or -errno.</summary>
    private int Open(Node node)
    {
        if (node.Fd >= 0)
        {
            Touch(node);
            return 0;
        }
        int r = Reopen(node);
        if (r == 0)
        {
            Trim(node);
        }
        return r;
    }

    private unsafe int Reopen(Node node)
    {
        if (!node.Reopenable)
        {
            return -Errno.ESTALE;
        }
        Node parent = node.Parent!;
        if (parent.Fd < 0)
        {
            int pr = Reopen(parent);
            if (pr < 0)
            {
                return pr;
            }
        }
        else
        {
            Touch(parent);
        }
        using var fd = new FileDescriptor(Files.OpenAt(parent.Fd, node.Name!, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0));
        if (fd.IsInvalid)
        {
            int e = Files.Result(fd.Number);
            return e == -Errno.ENOENT || e == -Errno.ENOTDIR ? -Errno.ESTALE : e;
        }
        Statx sx;
        if (Files.StatxAt(fd.Number, "", PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW, Files.STATX_BASIC_STATS, &sx) < 0
            || sx.Ino != node.Ino || WireConversions.MakeDev(sx.DevMajor, sx.DevMinor) != node.Dev)
        {
            // Another file under that name now (changed behind the gofer's back): not ours.
            return -Errno.ESTALE;
        }
        node.Fd = fd.Release();
        OpenFds++;
        Touch(node);
        return 0;
    }

    /// <summary>Moves a node to the most recently used end (only closable ones are listed).</summary>
    private void Touch(Node node)
    {
        if (node.Lru != null)
        {
            _lru.Remove(node.Lru);
            _lru.AddLast(node.Lru);
            return;
        }
        if (node.Reopenable && node.Fd >= 0)
        {
            node.Lru = _lru.AddLast(node);
        }
    }

    /// <summary>Closes least recently used fds until at most <see cref="Capacity"/> are open; never <paramref name="keep"/>.</summary>
    private void Trim(Node keep)
    {
        while (OpenFds > Capacity && _lru.First is { } first)
        {
            Node victim = first.Value;
            if (victim == keep)
            {
                if (first.Next == null)
                {
                    return;
                }
                victim = first.Next.Value;
            }
            CloseFd(victim);
        }
    }

    private void CloseFd(Node node)
    {
        if (node.Lru != null)
        {
            _lru.Remove(node.Lru);
            node.Lru = null;
        }
        if (node.Fd >= 0)
        {
            FileDescriptor.Close(node.Fd);
            node.Fd = -1;
            OpenFds--;
        }
    }

    /// <summary>Forgets <paramref name="handle"/>; its fd is closed once no live node needs it as a parent.</summary>
    public void Release(ulong handle)
    {
        if (_nodes.Remove(handle, out Node? node))
        {
            node.Released = true;
            Drop(node);
        }
    }

    private void Drop(Node? node)
    {
        while (node != null && node.Released && node.Children == 0)
        {
            CloseFd(node);
            _live.Remove(node);
            Node? parent = node.Parent;
            node.Parent = null;
            if (parent != null)
            {
                parent.Children--;
            }
            node = parent;
        }
    }

    /// <summary>
    /// Before <paramref name="name"/> in directory <paramref name="dir"/> goes away (unlink, or
    /// the target of a rename): the nodes of that name keep their fds for good, since no name
    /// will lead back to them.
    /// </summary>
    public void PinEntry(Node dir, string name)
    {
        foreach (Node n in _live)
        {
            if (n.Name == name && n.Parent is { } p && p.Ino == dir.Ino && p.Dev == dir.Dev && !n.Pinned)
            {
                if (n.Fd < 0 && Reopen(n) < 0)
                {
                    n.Pinned = true; // already gone: stays closed, its handle answers EBADF
                    continue;
                }
                if (n.Lru != null)
                {
                    _lru.Remove(n.Lru);
                    n.Lru = null;
                }
                n.Pinned = true;
            }
        }
    }

    /// <summary>
    /// After a rename through the gofer: nodes named <paramref name="oldName"/> in
    /// <paramref name="oldDir"/> are now <paramref name="newName"/> in <paramref name="newDir"/>
    /// (and the other way round for RENAME_EXCHANGE).
    /// </summary>
    public void Renamed(Node oldDir, string oldName, Node newDir, string newName, bool exchange)
    {
        var moved = new List<(Node Node, Node Dir, string Name)>();
        foreach (Node n in _live)
        {
            if (n.Parent is not { } p || n.Pinned)
            {
                continue;
            }
            if (n.Name == oldName && p.Ino == oldDir.Ino && p.Dev == oldDir.Dev)
            {
                moved.Add((n, newDir, newName));
            }
            else if (exchange && n.Name == newName && p.Ino == newDir.Ino && p.Dev == newDir.Dev)
            {
                moved.Add((n, oldDir, oldName));
            }
        }
        foreach ((Node n, Node dir, string name) in moved)
        {
            n.Parent!.Children--;
            Drop(n.Parent.Released ? n.Parent : null);
            n.Parent = dir;
            n.Name = name;
            dir.Children++;
        }
    }

    /// <summary>Closes every held fd.</summary>
    public void Clear()
    {
        foreach (Node node in _live)
        {
            if (node.Fd >= 0)
            {
                FileDescriptor.Close(node.Fd);
                node.Fd = -1;
            }
        }
        _nodes.Clear();
        _live.Clear();
        _lru.Clear();
        OpenFds = 0;
    }
}
