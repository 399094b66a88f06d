namespace RunscNet.Gofer;

/// <summary>One directory entry: its name, inode number and d_type (DT_REG = 8, DT_DIR = 4, DT_LNK = 10, ...).</summary>
public struct GoferDirEntry
{
    public string Name;
    public ulong Ino;
    public byte Type;
}
