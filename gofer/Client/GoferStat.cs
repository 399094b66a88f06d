namespace RunscNet.Gofer;

/// <summary>
/// A file's attributes in Linux's terms (struct stat): <see cref="Mode"/> holds the type bits
/// (S_IFMT) and permissions; <see cref="Dev"/> and <see cref="Rdev"/> are encoded like
/// glibc's makedev; times are seconds and nanoseconds since the epoch.
/// </summary>
public struct GoferStat
{
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public ulong Nlink;
    public long Size;
    /// <summary>512-byte blocks allocated.</summary>
    public long Blocks;
    /// <summary>Preferred I/O block size.</summary>
    public long BlkSize;
    public ulong Ino;
    public ulong Dev;
    public ulong Rdev;
    public long AtimeSec;
    public long AtimeNsec;
    public long MtimeSec;
    public long MtimeNsec;
    public long CtimeSec;
    public long CtimeNsec;

    /// <summary>The file-type bits of <see cref="Mode"/> (S_IFMT).</summary>
    public readonly uint FileType => Mode & 0xF000;
}
