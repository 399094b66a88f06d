namespace RunscNet.Gofer.Server;

/// <summary>
/// A file the gofer holds for the Sentry: an <c>O_PATH|O_NOFOLLOW</c> fd (never a symlink
/// followed), the file type (S_IFMT bits, fixed for the life of an inode), and whether the mount
/// holding it is read-only.
/// </summary>
internal sealed class Node
{
    public Node(int fd, uint fileType, bool readOnly)
    {
        Fd = fd;
        FileType = fileType;
        ReadOnly = readOnly;
    }

    /// <summary>The O_PATH fd.</summary>
    public int Fd { get; }

    /// <summary>S_IFMT bits of the file.</summary>
    public uint FileType { get; }

    /// <summary>True when writes through this node must be refused with EROFS.</summary>
    public bool ReadOnly { get; }
}
