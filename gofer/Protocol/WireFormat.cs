using System.Buffers;
using System.Text;

namespace RunscNet.Gofer.Protocol;

/// <summary>
/// A contract that encodes itself in the protobuf wire format (generated for every gofer contract
/// into Messages.Wire.cs by scripts/gen-gofer-wire.py). protobuf-net built its serializers through
/// reflection at the first use of each type, which under NativeAOT cost the gofer and the Sentry
/// tens of milliseconds of every container's start-up.
/// </summary>
public interface IWireMessage
{
    /// <summary>Writes the fields that differ from their defaults (as protobuf-net did).</summary>
    void WriteTo(WireWriter w);

    /// <summary>Reads one field whose tag <paramref name="r"/> just gave; unknown fields are skipped.</summary>
    void MergeField(ref WireReader r, int field, int wireType);
}

/// <summary>Appends protobuf fields to a buffer.</summary>
public sealed class WireWriter
{
    private readonly IBufferWriter<byte> _buffer;

    /// <summary>Writes into <paramref name="buffer"/>.</summary>
    public WireWriter(IBufferWriter<byte> buffer) => _buffer = buffer;

    /// <summary>A varint field (int32 and int64 two's complement, so a negative int32 takes ten bytes).</summary>
    public void Varint(int field, ulong value)
    {
        Raw((ulong)field << 3 | WireReader.Varint);
        Raw(value);
    }

    /// <summary>A UTF-8 string field.</summary>
    public void String(int field, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Raw((ulong)field << 3 | WireReader.LengthDelimited);
        Raw((ulong)length);
        Span<byte> span = _buffer.GetSpan(length);
        Encoding.UTF8.GetBytes(value, span);
        _buffer.Advance(length);
    }

    /// <summary>A bytes field.</summary>
    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Raw((ulong)field << 3 | WireReader.LengthDelimited);
        Raw((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>A nested message field.</summary>
    public void Message(int field, IWireMessage message)
    {
        var inner = new ArrayBufferWriter<byte>(64);
        message.WriteTo(new WireWriter(inner));
        Bytes(field, inner.WrittenSpan);
    }

    private void Raw(ulong v)
    {
        Span<byte> span = _buffer.GetSpan(10);
        int n = 0;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[n++] = (byte)v;
        _buffer.Advance(n);
    }
}

/// <summary>Reads protobuf fields; malformed input throws <see cref="InvalidDataException"/>.</summary>
public ref struct WireReader
{
    /// <summary>Wire types.</summary>
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    private ReadOnlySpan<byte> _rest;

    /// <summary>Reads <paramref name="body"/>.</summary>
    public WireReader(ReadOnlySpan<byte> body) => _rest = body;

    /// <summary>Decodes <paramref name="body"/> into <paramref name="message"/> and returns it.</summary>
    public static T Decode<T>(ReadOnlySpan<byte> body, T message) where T : IWireMessage
    {
        var r = new WireReader(body);
        while (!r._rest.IsEmpty)
        {
            ulong tag = r.ReadVarint();
            if (tag >> 3 is 0 or > int.MaxValue) throw new InvalidDataException($"bad field tag {tag}");
            message.MergeField(ref r, (int)(tag >> 3), (int)(tag & 7));
        }
        return message;
    }

    /// <summary>A varint.</summary>
    public ulong ReadVarint()
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_rest.IsEmpty) throw new InvalidDataException("truncated varint");
            byte b = _rest[0];
            _rest = _rest[1..];
            v |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return v;
        }
        throw new InvalidDataException("varint longer than ten bytes");
    }

    /// <summary>The bytes of a length-delimited field.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)_rest.Length) throw new InvalidDataException("field longer than the message");
        ReadOnlySpan<byte> value = _rest[..(int)length];
        _rest = _rest[(int)length..];
        return value;
    }

    /// <summary>A UTF-8 string field.</summary>
    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>Skips a field of wire type <paramref name="wireType"/>.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case LengthDelimited: ReadBytes(); break;
            case Fixed64: Advance(8); break;
            case Fixed32: Advance(4); break;
            default: throw new InvalidDataException($"unsupported wire type {wireType}");
        }
    }

    private void Advance(int n)
    {
        if (_rest.Length < n) throw new InvalidDataException("truncated field");
        _rest = _rest[n..];
    }
}
