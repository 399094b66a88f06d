using System.Buffers.Binary;

namespace RunscNet.Gofer.Protocol;

/// <summary>
/// The fixed 16-byte header in front of every packet (little-endian):
/// <c>u16 version, u16 op, u32 tag, u32 payload length, u32 fd count</c>, followed by the
/// protobuf payload. One message is exactly one SOCK_SEQPACKET packet, so the payload length
/// must equal the packet length minus the header; the fd count must equal the number of fds
/// the packet carries in SCM_RIGHTS.
/// </summary>
internal readonly record struct PacketHeader(ushort Version, Operation Op, uint Tag, uint PayloadLength, uint FdCount)
{
    /// <summary>Bytes of the header on the wire.</summary>
    public const int Size = 16;

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)Op);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Tag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], PayloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], FdCount);
    }

    /// <summary>Reads a header; false when <paramref name="source"/> is shorter than a header.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out PacketHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }
        header = new PacketHeader(
            BinaryPrimitives.ReadUInt16LittleEndian(source),
            (Operation)BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[12..]));
        return true;
    }
}
