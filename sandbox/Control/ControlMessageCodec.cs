using System.Buffers;
using System.Text;

namespace RunscNet.Sentry.Control;

/// <summary>
/// The protobuf wire encoding of the control messages (<see cref="ControlRequest"/>,
/// <see cref="ControlResponse"/>, <see cref="ControlProcess"/>), written out by hand: field
/// numbers as their [ProtoMember] attributes say, int32 and enums as varints (negative ones sign
/// extended to ten bytes), strings and nested messages length-delimited, defaults left out. A
/// reflection-built serializer cost each runtime and boot process ~10 ms of start-up per message
/// type under NativeAOT, on the critical path of every create.
/// Unknown fields are skipped; malformed input throws <see cref="InvalidDataException"/>.
/// </summary>
public static class ControlMessageCodec
{
    private const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireFixed32 = 5;

    /// <summary>Encodes a request.</summary>
    public static byte[] Encode(ControlRequest m)
    {
        var w = new Writer();
        w.Int(1, (int)m.Operation);
        w.Int(2, m.Signal);
        w.Bool(3, m.All);
        w.Int(4, m.Pid);
        foreach (string a in m.Args) w.String(5, a, always: true);
        foreach (string e in m.Env) w.String(6, e, always: true);
        if (m.Cwd != "/") w.String(7, m.Cwd, always: true);
        w.UInt(8, m.Uid);
        w.UInt(9, m.Gid);
        foreach (string g in m.AdditionalGids) w.String(10, g, always: true);
        w.Bool(11, m.Terminal);
        return w.ToArray();
    }

    /// <summary>Encodes a response.</summary>
    public static byte[] Encode(ControlResponse m)
    {
        var w = new Writer();
        if (m.Error != null) w.String(1, m.Error, always: true);
        w.Int(2, m.Pid);
        w.Int(3, m.WaitStatus);
        foreach (ControlProcess p in m.Processes)
        {
            var inner = new Writer();
            inner.Int(1, p.Pid);
            inner.Int(2, p.PPid);
            inner.UInt(3, p.Uid);
            inner.String(4, p.Command, always: false);
            inner.String(5, p.State, always: false);
            inner.Long(6, p.StartTimeTicks);
            w.Bytes(4, inner.Written);
        }
        return w.ToArray();
    }

    /// <summary>Decodes a request.</summary>
    public static ControlRequest DecodeRequest(ReadOnlySpan<byte> body)
    {
        var m = new ControlRequest();
        var r = new Reader(body);
        while (r.Next(out int field, out int type))
        {
            switch (field, type)
            {
                case (1, WireVarint): m.Operation = (ControlOperation)(int)r.Varint(); break;
                case (2, WireVarint): m.Signal = (int)r.Varint(); break;
                case (3, WireVarint): m.All = r.Varint() != 0; break;
                case (4, WireVarint): m.Pid = (int)r.Varint(); break;
                case (5, WireLengthDelimited): m.Args.Add(r.String()); break;
                case (6, WireLengthDelimited): m.Env.Add(r.String()); break;
                case (7, WireLengthDelimited): m.Cwd = r.String(); break;
                case (8, WireVarint): m.Uid = (uint)r.Varint(); break;
                case (9, WireVarint): m.Gid = (uint)r.Varint(); break;
                case (10, WireLengthDelimited): m.AdditionalGids.Add(r.String()); break;
                case (11, WireVarint): m.Terminal = r.Varint() != 0; break;
                default: r.Skip(type); break;
            }
        }
        return m;
    }

    /// <summary>Decodes a response.</summary>
    public static ControlResponse DecodeResponse(ReadOnlySpan<byte> body)
    {
        var m = new ControlResponse();
        var r = new Reader(body);
        while (r.Next(out int field, out int type))
        {
            switch (field, type)
            {
                case (1, WireLengthDelimited): m.Error = r.String(); break;
                case (2, WireVarint): m.Pid = (int)r.Varint(); break;
                case (3, WireVarint): m.WaitStatus = (int)r.Varint(); break;
                case (4, WireLengthDelimited): m.Processes.Add(DecodeProcess(r.Bytes())); break;
                default: r.Skip(type); break;
            }
        }
        return m;
    }

    private static ControlProcess DecodeProcess(ReadOnlySpan<byte> body)
    {
        var p = new ControlProcess();
        var r = new Reader(body);
        while (r.Next(out int field, out int type))
        {
            switch (field, type)
            {
                case (1, WireVarint): p.Pid = (int)r.Varint(); break;
                case (2, WireVarint): p.PPid = (int)r.Varint(); break;
                case (3, WireVarint): p.Uid = (uint)r.Varint(); break;
                case (4, WireLengthDelimited): p.Command = r.String(); break;
                case (5, WireLengthDelimited): p.State = r.String(); break;
                case (6, WireVarint): p.StartTimeTicks = (long)r.Varint(); break;
                default: r.Skip(type); break;
            }
        }
        return p;
    }

    private sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(256);

        public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

        public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

        public void Int(int field, int value) { if (value != 0) { Tag(field, WireVarint); Raw((ulong)(long)value); } }

        public void UInt(int field, uint value) { if (value != 0) { Tag(field, WireVarint); Raw(value); } }

        public void Long(int field, long value) { if (value != 0) { Tag(field, WireVarint); Raw((ulong)value); } }

        public void Bool(int field, bool value) { if (value) { Tag(field, WireVarint); Raw(1); } }

        public void String(int field, string value, bool always)
        {
            if (!always && value.Length == 0) return;
            Bytes(field, Encoding.UTF8.GetBytes(value));
        }

        public void Bytes(int field, ReadOnlySpan<byte> value)
        {
            Tag(field, WireLengthDelimited);
            Raw((ulong)value.Length);
            _buffer.Write(value);
        }

        private void Tag(int field, int type) => Raw((ulong)((field << 3) | type));

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

    private ref struct Reader
    {
        private ReadOnlySpan<byte> _rest;

        public Reader(ReadOnlySpan<byte> body) => _rest = body;

        public bool Next(out int field, out int type)
        {
            field = type = 0;
            if (_rest.IsEmpty) return false;
            ulong tag = Varint();
            field = (int)(tag >> 3);
            type = (int)(tag & 7);
            if (field <= 0 || tag >> 3 > int.MaxValue) throw new InvalidDataException($"control message: bad field tag {tag}");
            return true;
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_rest.IsEmpty) throw new InvalidDataException("control message: truncated varint");
                byte b = _rest[0];
                _rest = _rest[1..];
                v |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return v;
            }
            throw new InvalidDataException("control message: varint longer than ten bytes");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong length = Varint();
            if (length > (ulong)_rest.Length) throw new InvalidDataException("control message: field longer than the message");
            ReadOnlySpan<byte> value = _rest[..(int)length];
            _rest = _rest[(int)length..];
            return value;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int type)
        {
            switch (type)
            {
                case WireVarint: Varint(); break;
                case WireLengthDelimited: Bytes(); break;
                case WireFixed64: Advance(8); break;
                case WireFixed32: Advance(4); break;
                default: throw new InvalidDataException($"control message: unsupported wire type {type}");
            }
        }

        private void Advance(int n)
        {
            if (_rest.Length < n) throw new InvalidDataException("control message: truncated field");
            _rest = _rest[n..];
        }
    }
}
