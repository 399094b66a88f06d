namespace RunscNet.Gofer;

/// <summary>
/// Attribute changes for <see cref="GoferClient.SetAttr"/>. Only the fields whose bit is set in
/// <see cref="Mask"/> are applied, in this order: size, owner (uid/gid), mode, times.
/// <list type="bullet">
/// <item><see cref="SetMode"/> (1): permission bits of <see cref="Mode"/> (07777; the file type is ignored). EOPNOTSUPP on a symlink.</item>
/// <item><see cref="SetUid"/> (2), <see cref="SetGid"/> (4): owner and group (lchown semantics: a symlink itself).</item>
/// <item><see cref="SetSize"/> (8): truncate or extend a regular file to <see cref="Size"/> (EISDIR on a directory, EINVAL on others).</item>
/// <item><see cref="SetAtime"/> (16), <see cref="SetMtime"/> (32): the times; a nanosecond field of
/// <see cref="UtimeNow"/> means "now" and <see cref="UtimeOmit"/> "leave unchanged", as in utimensat(2).</item>
/// </list>
/// </summary>
public struct GoferSetAttr
{
    /// <summary>Apply <see cref="Mode"/>.</summary>
    public const uint SetMode = 1;
    /// <summary>Apply <see cref="Uid"/>.</summary>
    public const uint SetUid = 2;
    /// <summary>Apply <see cref="Gid"/>.</summary>
    public const uint SetGid = 4;
    /// <summary>Apply <see cref="Size"/>.</summary>
    public const uint SetSize = 8;
    /// <summary>Apply <see cref="AtimeSec"/>/<see cref="AtimeNsec"/>.</summary>
    public const uint SetAtime = 16;
    /// <summary>Apply <see cref="MtimeSec"/>/<see cref="MtimeNsec"/>.</summary>
    public const uint SetMtime = 32;
    /// <summary>Every bit the gofer understands; others give EINVAL.</summary>
    public const uint AllBits = SetMode | SetUid | SetGid | SetSize | SetAtime | SetMtime;

    /// <summary>UTIME_NOW: set the time to the current time.</summary>
    public const long UtimeNow = (1L << 30) - 1;
    /// <summary>UTIME_OMIT: leave the time unchanged.</summary>
    public const long UtimeOmit = (1L << 30) - 2;

    public uint Mask;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public long Size;
    public long AtimeSec;
    public long AtimeNsec;
    public long MtimeSec;
    public long MtimeNsec;
}
