namespace RunscNet.Gofer.Server;

/// <summary>
/// A file the gofer holds for the Sentry: an <c>O_PATH|O_NOFOLLOW</c> fd (never a symlink
/// followed), the file type (S_IFMT bits, fixed for the life of an inode), and whether the mount
/// holding it is read-only. The fd may be closed by the handle cap (<see cref="HandleTable"/>)
/// while the node lives: the node then remembers the directory node and the name it was walked
/// from, and the file's (dev, ino), so it can be reopened by that one component and checked to
/// be the same file.
/// </summary>
internal sealed class Node
{
    public Node(int fd, uint fileType, bool readOnly, Node? parent, string? name, ulong dev, ulong ino)
    {
        Fd = fd;
        FileType = fileType;
        ReadOnly = readOnly;
        Parent = parent;
        Name = name;
        Dev = dev;
        Ino = ino;
    }

    /// <summary>The O_PATH fd; -1 while the cap has closed it (<see cref="HandleTable.Find"/> reopens it).</summary>
    /// <remarks>A raw number by design: <see cref="HandleTable"/> owns it, closing and reopening it under its cap (one finalizable owner per cached node would only add GC work).</remarks>
    public int Fd { get; internal set; }

    /// <summary>S_IFMT bits of the file.</summary>
    public uint FileType { get; }

    /// <summary>True when writes through this node must be refused with EROFS.</summary>
    public bool ReadOnly { get; }

    /// <summary>The directory node this one was walked or created from (null for an attach point).</summary>
    internal Node? Parent { get; set; }

    /// <summary>The name in <see cref="Parent"/> (kept current across renames made through the gofer).</summary>
    internal string? Name { get; set; }

    /// <summary>The file's identity, checked after a reopen.</summary>
    internal ulong Dev { get; }

    /// <summary>The file's identity, checked after a reopen.</summary>
    internal ulong Ino { get; }

    /// <summary>
    /// True when the node cannot be reopened by (parent, name): an attach point, or a file whose
    /// name was unlinked or renamed over. Its fd is never closed by the cap.
    /// </summary>
    internal bool Pinned { get; set; }

    /// <summary>Live nodes whose <see cref="Parent"/> is this one (they may need it to reopen).</summary>
    internal int Children { get; set; }

    /// <summary>True once the Sentry released the handle (the node lives on while it has children).</summary>
    internal bool Released { get; set; }

    /// <summary>The node's place in the table's least-recently-used list while its fd is open and closable.</summary>
    internal LinkedListNode<Node>? Lru { get; set; }

    /// <summary>True when the cap may close the fd (it can be reopened by name).</summary>
    internal bool Reopenable => Parent != null && Name != null && !Pinned;
}
