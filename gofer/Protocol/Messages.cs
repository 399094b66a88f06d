using ProtoBuf;

namespace RunscNet.Gofer.Protocol;

// The request and response contracts of every operation (see Operation). Field numbers are part
// of the wire format: never renumber; only add fields. In every response, field 1 is the errno.

/// <summary>A file's attributes as Linux reports them (statx with the stat fields).</summary>
[ProtoContract]
internal sealed partial class WireStat
{
    [ProtoMember(1)] public uint Mode { get; set; }
    [ProtoMember(2)] public uint Uid { get; set; }
    [ProtoMember(3)] public uint Gid { get; set; }
    [ProtoMember(4)] public ulong Nlink { get; set; }
    [ProtoMember(5)] public long Size { get; set; }
    [ProtoMember(6)] public long Blocks { get; set; }
    [ProtoMember(7)] public long BlkSize { get; set; }
    [ProtoMember(8)] public ulong Ino { get; set; }
    [ProtoMember(9)] public ulong Dev { get; set; }
    [ProtoMember(10)] public ulong Rdev { get; set; }
    [ProtoMember(11)] public long AtimeSec { get; set; }
    [ProtoMember(12)] public long AtimeNsec { get; set; }
    [ProtoMember(13)] public long MtimeSec { get; set; }
    [ProtoMember(14)] public long MtimeNsec { get; set; }
    [ProtoMember(15)] public long CtimeSec { get; set; }
    [ProtoMember(16)] public long CtimeNsec { get; set; }
}

/// <summary>A new handle the gofer now holds, with its file's attributes.</summary>
[ProtoContract]
internal sealed partial class WireNode
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public WireStat? Stat { get; set; }
    /// <summary>True when the mount holding the file is read-only (the gofer refuses writes with EROFS).</summary>
    [ProtoMember(3)] public bool ReadOnly { get; set; }
}

/// <summary>The answer to a message that could not be decoded (any response type reads it).</summary>
[ProtoContract]
internal sealed partial class ErrorResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

/// <summary>First request: the client's protocol version.</summary>
[ProtoContract]
internal sealed partial class HandshakeRequest
{
    [ProtoMember(1)] public uint Version { get; set; }
}

/// <summary>The server's protocol version and limits; Errno is EPROTONOSUPPORT on a mismatch.</summary>
[ProtoContract]
internal sealed partial class HandshakeResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public uint Version { get; set; }
    [ProtoMember(3)] public uint MaxMessageSize { get; set; }
}

/// <summary>Attach to a mount point by absolute path ("/" = the container root).</summary>
[ProtoContract]
internal sealed partial class AttachRequest
{
    [ProtoMember(1)] public string Path { get; set; } = "";
}

[ProtoContract]
internal sealed partial class AttachResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireNode? Node { get; set; }
}

/// <summary>Walk one component from a directory handle; a symlink is returned, not followed.</summary>
[ProtoContract]
internal sealed partial class WalkRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
}

[ProtoContract]
internal sealed partial class WalkResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireNode? Node { get; set; }
}

/// <summary>
/// Walk <see cref="Names"/> one after the other from <see cref="Directory"/>. The walk stops after
/// a symlink (returned as the last node, not followed) and at the first error (Errno set; the
/// nodes walked before it are still returned and held).
/// </summary>
[ProtoContract]
internal sealed partial class WalkManyRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public List<string> Names { get; set; } = new();
}

[ProtoContract]
internal sealed partial class WalkManyResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public List<WireNode> Nodes { get; set; } = new();
}

[ProtoContract]
internal sealed partial class StatRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
}

[ProtoContract]
internal sealed partial class StatResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireStat? Stat { get; set; }
}

/// <summary>Open the file of a handle; the host fd comes in SCM_RIGHTS.</summary>
[ProtoContract]
internal sealed partial class OpenRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public int Flags { get; set; }
}

[ProtoContract]
internal sealed partial class OpenResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    /// <summary>True when the packet carries the opened fd (false for directories).</summary>
    [ProtoMember(2)] public bool HasFd { get; set; }
}

/// <summary>Create and open a regular file (O_CREAT|O_EXCL).</summary>
[ProtoContract]
internal sealed partial class CreateRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public int Flags { get; set; }
    [ProtoMember(4)] public uint Mode { get; set; }
    [ProtoMember(5)] public uint Uid { get; set; }
    [ProtoMember(6)] public uint Gid { get; set; }
}

[ProtoContract]
internal sealed partial class CreateResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireNode? Node { get; set; }
    [ProtoMember(3)] public bool HasFd { get; set; }
}

[ProtoContract]
internal sealed partial class MkdirRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public uint Mode { get; set; }
    [ProtoMember(4)] public uint Uid { get; set; }
    [ProtoMember(5)] public uint Gid { get; set; }
}

[ProtoContract]
internal sealed partial class MkdirResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireNode? Node { get; set; }
}

[ProtoContract]
internal sealed partial class MknodRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public uint Mode { get; set; }
    [ProtoMember(4)] public ulong Rdev { get; set; }
    [ProtoMember(5)] public uint Uid { get; set; }
    [ProtoMember(6)] public uint Gid { get; set; }
}

[ProtoContract]
internal sealed partial class MknodResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireNode? Node { get; set; }
}

[ProtoContract]
internal sealed partial class SymlinkRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public string Target { get; set; } = "";
    [ProtoMember(4)] public uint Uid { get; set; }
    [ProtoMember(5)] public uint Gid { get; set; }
}

[ProtoContract]
internal sealed partial class SymlinkResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireNode? Node { get; set; }
}

/// <summary>Hard-link the file of <see cref="Target"/> as <see cref="Name"/> in <see cref="Directory"/>.</summary>
[ProtoContract]
internal sealed partial class LinkRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public ulong Target { get; set; }
}

[ProtoContract]
internal sealed partial class LinkResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public WireStat? Stat { get; set; }
}

[ProtoContract]
internal sealed partial class UnlinkRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public bool IsDirectory { get; set; }
}

[ProtoContract]
internal sealed partial class UnlinkResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

[ProtoContract]
internal sealed partial class RenameRequest
{
    [ProtoMember(1)] public ulong OldDirectory { get; set; }
    [ProtoMember(2)] public string OldName { get; set; } = "";
    [ProtoMember(3)] public ulong NewDirectory { get; set; }
    [ProtoMember(4)] public string NewName { get; set; } = "";
    [ProtoMember(5)] public uint Flags { get; set; }
}

[ProtoContract]
internal sealed partial class RenameResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

[ProtoContract]
internal sealed partial class ReadlinkRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
}

[ProtoContract]
internal sealed partial class ReadlinkResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public string Target { get; set; } = "";
}

/// <summary>Change attributes; <see cref="Mask"/> uses the <see cref="GoferSetAttr"/> bits.</summary>
[ProtoContract]
internal sealed partial class SetAttrRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public uint Mask { get; set; }
    [ProtoMember(3)] public uint Mode { get; set; }
    [ProtoMember(4)] public uint Uid { get; set; }
    [ProtoMember(5)] public uint Gid { get; set; }
    [ProtoMember(6)] public long Size { get; set; }
    [ProtoMember(7)] public long AtimeSec { get; set; }
    [ProtoMember(8)] public long AtimeNsec { get; set; }
    [ProtoMember(9)] public long MtimeSec { get; set; }
    [ProtoMember(10)] public long MtimeNsec { get; set; }
}

[ProtoContract]
internal sealed partial class SetAttrResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

/// <summary>Read directory entries from <see cref="Cookie"/> (0 = the start).</summary>
[ProtoContract]
internal sealed partial class GetDentsRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public long Cookie { get; set; }
}

[ProtoContract]
internal sealed partial class WireDirEntry
{
    [ProtoMember(1)] public string Name { get; set; } = "";
    [ProtoMember(2)] public ulong Ino { get; set; }
    [ProtoMember(3)] public uint Type { get; set; }
}

/// <summary>A batch of entries; <see cref="End"/> when the directory is exhausted, else ask again from <see cref="NextCookie"/>.</summary>
[ProtoContract]
internal sealed partial class GetDentsResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public List<WireDirEntry> Entries { get; set; } = new();
    [ProtoMember(3)] public long NextCookie { get; set; }
    [ProtoMember(4)] public bool End { get; set; }
}

[ProtoContract]
internal sealed partial class StatFsRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
}

[ProtoContract]
internal sealed partial class StatFsResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public long Type { get; set; }
    [ProtoMember(3)] public long BlockSize { get; set; }
    [ProtoMember(4)] public ulong Blocks { get; set; }
    [ProtoMember(5)] public ulong BlocksFree { get; set; }
    [ProtoMember(6)] public ulong BlocksAvailable { get; set; }
    [ProtoMember(7)] public ulong Files { get; set; }
    [ProtoMember(8)] public ulong FilesFree { get; set; }
    [ProtoMember(9)] public long NameLength { get; set; }
    [ProtoMember(10)] public long Flags { get; set; }
    [ProtoMember(11)] public long FragmentSize { get; set; }
}

[ProtoContract]
internal sealed partial class GetXattrRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
}

[ProtoContract]
internal sealed partial class GetXattrResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public byte[] Value { get; set; } = Array.Empty<byte>();
}

[ProtoContract]
internal sealed partial class SetXattrRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public byte[] Value { get; set; } = Array.Empty<byte>();
    [ProtoMember(4)] public int Flags { get; set; }
}

[ProtoContract]
internal sealed partial class SetXattrResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

[ProtoContract]
internal sealed partial class ListXattrRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
}

[ProtoContract]
internal sealed partial class ListXattrResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public List<string> Names { get; set; } = new();
}

[ProtoContract]
internal sealed partial class RemoveXattrRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
}

[ProtoContract]
internal sealed partial class RemoveXattrResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

[ProtoContract]
internal sealed partial class FsyncRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
}

[ProtoContract]
internal sealed partial class FsyncResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}

/// <summary>Create a host unix socket of <see cref="Type"/> bound at <see cref="Name"/> in <see cref="Directory"/>.</summary>
[ProtoContract]
internal sealed partial class BindSocketRequest
{
    [ProtoMember(1)] public ulong Directory { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(3)] public int Type { get; set; }
    [ProtoMember(4)] public uint Uid { get; set; }
    [ProtoMember(5)] public uint Gid { get; set; }
}

[ProtoContract]
internal sealed partial class BindSocketResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public bool HasFd { get; set; }
}

/// <summary>Connect a new host unix socket of <see cref="Type"/> to the socket file of <see cref="Handle"/>.</summary>
[ProtoContract]
internal sealed partial class ConnectSocketRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    [ProtoMember(2)] public int Type { get; set; }
}

[ProtoContract]
internal sealed partial class ConnectSocketResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
    [ProtoMember(2)] public bool HasFd { get; set; }
}

/// <summary>
/// Give handles back: <see cref="Handle"/> and any in <see cref="More"/> (protobuf-net cannot
/// build serializers for repeated value-type fields (List&lt;ulong&gt;) under NativeAOT, so
/// further handles travel as bytes).
/// </summary>
[ProtoContract]
internal sealed partial class ReleaseRequest
{
    [ProtoMember(1)] public ulong Handle { get; set; }
    /// <summary>Further handles to release in the same request, 8 bytes each, little-endian.</summary>
    [ProtoMember(2)] public byte[]? More { get; set; }
}

[ProtoContract]
internal sealed partial class ReleaseResponse : IResponse
{
    [ProtoMember(1)] public int Errno { get; set; }
}
