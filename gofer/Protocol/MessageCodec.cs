using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using ProtoBuf;

namespace RunscNet.Gofer.Protocol;

/// <summary>Turns contracts into packets (header + protobuf payload, <see cref="IWireMessage"/>) and back.</summary>
internal static class MessageCodec
{
    /// <summary>
    /// Encodes <paramref name="message"/> behind a header into <paramref name="writer"/> (which is
    /// cleared first) and returns the packet bytes.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "Every contract lives in RunscNet.Gofer, which the executable roots for trimming.")]
    public static ReadOnlyMemory<byte> Encode<T>(ArrayBufferWriter<byte> writer, Operation op, uint tag, T message, int fdCount)
    {
        writer.ResetWrittenCount();
        writer.GetSpan(PacketHeader.Size)[..PacketHeader.Size].Clear();
        writer.Advance(PacketHeader.Size);
        if (message is IWireMessage wire) wire.WriteTo(new WireWriter(writer));
        else Serializer.Serialize(writer, message);
        Memory<byte> packet = MemoryMarshal.AsMemory(writer.WrittenMemory);
        new PacketHeader(ProtocolLimits.Version, op, tag, (uint)(packet.Length - PacketHeader.Size), (uint)fdCount)
            .Write(packet.Span);
        return packet;
    }

    /// <summary>Decodes a payload; false (never an exception) when it is not a valid <typeparamref name="T"/>.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "Every contract lives in RunscNet.Gofer, which the executable roots for trimming.")]
    public static bool TryDecode<T>(ReadOnlySpan<byte> payload, out T? message) where T : class
    {
        try
        {
            if (WireMessages.New(typeof(T)) is { } wire)
            {
                message = (T)WireReader.Decode(payload, wire);
                return true;
            }
            message = Serializer.Deserialize<T>(payload);
            return message is not null;
        }
        catch (Exception e) when (e is ProtoException or EndOfStreamException or OverflowException
                                      or InvalidOperationException or ArgumentException or IOException
                                      or FormatException or IndexOutOfRangeException or InvalidDataException)
        {
            message = null;
            return false;
        }
    }
}
