namespace RunscNet.Gofer;

/// <summary>File-system statistics of the mount holding a handle (struct statfs).</summary>
public struct GoferStatFs
{
    /// <summary>The file-system magic (f_type).</summary>
    public long Type;
    public long BlockSize;
    public ulong Blocks;
    public ulong BlocksFree;
    public ulong BlocksAvailable;
    public ulong Files;
    public ulong FilesFree;
    public long NameLength;
    /// <summary>Mount flags (ST_RDONLY = 1, ST_NOSUID = 2, ...).</summary>
    public long Flags;
    public long FragmentSize;
}
