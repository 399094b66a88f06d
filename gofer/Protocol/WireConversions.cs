namespace RunscNet.Gofer.Protocol;

/// <summary>Converts between the wire contracts and the public value types of the client API.</summary>
internal static class WireConversions
{
    /// <summary>The public form of a wire stat (all zero when absent).</summary>
    public static GoferStat ToStat(WireStat? s) => s is null ? default : new GoferStat
    {
        Mode = s.Mode, Uid = s.Uid, Gid = s.Gid, Nlink = s.Nlink, Size = s.Size, Blocks = s.Blocks,
        BlkSize = s.BlkSize, Ino = s.Ino, Dev = s.Dev, Rdev = s.Rdev,
        AtimeSec = s.AtimeSec, AtimeNsec = s.AtimeNsec, MtimeSec = s.MtimeSec, MtimeNsec = s.MtimeNsec,
        CtimeSec = s.CtimeSec, CtimeNsec = s.CtimeNsec,
    };

    /// <summary>glibc's makedev: the dev_t of a major/minor pair.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8) |
        ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);
}
