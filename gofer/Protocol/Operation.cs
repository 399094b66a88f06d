namespace RunscNet.Gofer.Protocol;

/// <summary>
/// The operation a message carries (header field <c>op</c>). Each has one request contract and one
/// response contract in <c>Messages.cs</c>; the response echoes the request's operation and tag.
/// Numbers are part of the wire format: never renumber, only add.
/// </summary>
internal enum Operation : ushort
{
    /// <summary>Not an operation: answers a message whose header could not be read.</summary>
    None = 0,
    /// <summary>Version handshake; must be the first request on a connection.</summary>
    Handshake = 1,
    Attach = 2,
    Walk = 3,
    Stat = 4,
    Open = 5,
    Create = 6,
    Mkdir = 7,
    Mknod = 8,
    Symlink = 9,
    Link = 10,
    Unlink = 11,
    Rename = 12,
    Readlink = 13,
    SetAttr = 14,
    GetDents = 15,
    StatFs = 16,
    GetXattr = 17,
    SetXattr = 18,
    ListXattr = 19,
    RemoveXattr = 20,
    Fsync = 21,
    BindSocket = 22,
    ConnectSocket = 23,
    Release = 24,
    /// <summary>Walk several components in one round trip (stops after a symlink or at an error).</summary>
    WalkMany = 25,
}
