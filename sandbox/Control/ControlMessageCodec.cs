using System.Buffers;
using RunscNet.Gofer.Protocol;

namespace RunscNet.Sentry.Control;

/// <summary>
/// The protobuf wire encoding of the control messages (<see cref="ControlRequest"/>,
/// <see cref="ControlResponse"/>, <see cref="ControlProcess"/>, <see cref="ControlUnimplemented"/>, <see cref="ControlTask"/>), written out by hand: field
/// numbers as their [ProtoMember] attributes say, int32 and enums as varints (negative ones sign
/// extended to ten bytes), strings and nested messages length-delimited, defaults left out. A
/// reflection-built serializer cost each runtime and boot process ~10 ms of start-up per message
/// type under NativeAOT, on the critical path of every create.
/// Unknown fields are skipped; malformed input throws <see cref="InvalidDataException"/>. The
/// field reader and writer are the gofer protocol's (<see cref="WireReader"/>, <see cref="WireWriter"/>).
/// </summary>
internal static class ControlMessageCodec
{
    private const int WireVarint = WireReader.Varint, WireLengthDelimited = WireReader.LengthDelimited;

    /// <summary>Encodes a request.</summary>
    public static byte[] Encode(ControlRequest m) => Write(new RequestWire(m));

    /// <summary>Encodes a response.</summary>
    public static byte[] Encode(ControlResponse m) => Write(new ResponseWire(m));

    /// <summary>Decodes a request.</summary>
    public static ControlRequest DecodeRequest(ReadOnlySpan<byte> body) => WireReader.Decode(body, new RequestWire(new ControlRequest())).Message;

    /// <summary>Decodes a response.</summary>
    public static ControlResponse DecodeResponse(ReadOnlySpan<byte> body) => WireReader.Decode(body, new ResponseWire(new ControlResponse())).Message;

    private static byte[] Write(IWireMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        message.WriteTo(new WireWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    // Defaults are left out, as protobuf-net does; int32 is sign-extended to ten bytes.
    private static void Int(WireWriter w, int field, long value) { if (value != 0) w.Varint(field, (ulong)value); }

    private static void Bool(WireWriter w, int field, bool value) { if (value) w.Varint(field, 1); }

    private sealed class RequestWire(ControlRequest m) : IWireMessage
    {
        public ControlRequest Message => m;

        public void WriteTo(WireWriter w)
        {
            Int(w, 1, (int)m.Operation);
            Int(w, 2, m.Signal);
            Bool(w, 3, m.All);
            Int(w, 4, m.Pid);
            foreach (string a in m.Args) w.String(5, a);
            foreach (string e in m.Env) w.String(6, e);
            if (m.Cwd != "/") w.String(7, m.Cwd);
            Int(w, 8, m.Uid);
            Int(w, 9, m.Gid);
            foreach (string g in m.AdditionalGids) w.String(10, g);
            Bool(w, 11, m.Terminal);
            if (m.ContainerId.Length > 0) w.String(12, m.ContainerId);
            if (m.SpecJson.Length > 0) w.String(13, m.SpecJson);
            if (!string.IsNullOrEmpty(m.ImageContainerId)) w.String(14, m.ImageContainerId);
            Bool(w, 15, m.LeaveRunning);
            if (!string.IsNullOrEmpty(m.RuntimeVersion)) w.String(16, m.RuntimeVersion);
            Bool(w, 17, m.KillOnHangup);
            if (!string.IsNullOrEmpty(m.ImageDigest)) w.String(18, m.ImageDigest);
        }

        public void MergeField(ref WireReader r, int field, int wireType)
        {
            switch (field, wireType)
            {
                case (1, WireVarint): m.Operation = (ControlOperation)(int)r.ReadVarint(); break;
                case (2, WireVarint): m.Signal = (int)r.ReadVarint(); break;
                case (3, WireVarint): m.All = r.ReadVarint() != 0; break;
                case (4, WireVarint): m.Pid = (int)r.ReadVarint(); break;
                case (5, WireLengthDelimited): m.Args.Add(r.ReadString()); break;
                case (6, WireLengthDelimited): m.Env.Add(r.ReadString()); break;
                case (7, WireLengthDelimited): m.Cwd = r.ReadString(); break;
                case (8, WireVarint): m.Uid = (uint)r.ReadVarint(); break;
                case (9, WireVarint): m.Gid = (uint)r.ReadVarint(); break;
                case (10, WireLengthDelimited): m.AdditionalGids.Add(r.ReadString()); break;
                case (11, WireVarint): m.Terminal = r.ReadVarint() != 0; break;
                case (12, WireLengthDelimited): m.ContainerId = r.ReadString(); break;
                case (13, WireLengthDelimited): m.SpecJson = r.ReadString(); break;
                case (14, WireLengthDelimited): m.ImageContainerId = r.ReadString(); break;
                case (15, WireVarint): m.LeaveRunning = r.ReadVarint() != 0; break;
                case (16, WireLengthDelimited): m.RuntimeVersion = r.ReadString(); break;
                case (17, WireVarint): m.KillOnHangup = r.ReadVarint() != 0; break;
                case (18, WireLengthDelimited): m.ImageDigest = r.ReadString(); break;
                default: r.Skip(wireType); break;
            }
        }
    }

    private sealed class ProcessWire(ControlProcess p) : IWireMessage
    {
        public ControlProcess Message => p;

        public void WriteTo(WireWriter w)
        {
            Int(w, 1, p.Pid);
            Int(w, 2, p.PPid);
            Int(w, 3, p.Uid);
            if (p.Command.Length > 0) w.String(4, p.Command);
            if (p.State.Length > 0) w.String(5, p.State);
            Int(w, 6, p.StartTimeTicks);
        }

        public void MergeField(ref WireReader r, int field, int wireType)
        {
            switch (field, wireType)
            {
                case (1, WireVarint): p.Pid = (int)r.ReadVarint(); break;
                case (2, WireVarint): p.PPid = (int)r.ReadVarint(); break;
                case (3, WireVarint): p.Uid = (uint)r.ReadVarint(); break;
                case (4, WireLengthDelimited): p.Command = r.ReadString(); break;
                case (5, WireLengthDelimited): p.State = r.ReadString(); break;
                case (6, WireVarint): p.StartTimeTicks = (long)r.ReadVarint(); break;
                default: r.Skip(wireType); break;
            }
        }
    }

    private sealed class UnimplementedWire(ControlUnimplemented u) : IWireMessage
    {
        public ControlUnimplemented Message => u;

        public void WriteTo(WireWriter w)
        {
            if (u.Program.Length > 0) w.String(1, u.Program);
            Int(w, 2, u.Number);
            if (u.Name.Length > 0) w.String(3, u.Name);
            Int(w, 4, u.Count);
        }

        public void MergeField(ref WireReader r, int field, int wireType)
        {
            switch (field, wireType)
            {
                case (1, WireLengthDelimited): u.Program = r.ReadString(); break;
                case (2, WireVarint): u.Number = (int)r.ReadVarint(); break;
                case (3, WireLengthDelimited): u.Name = r.ReadString(); break;
                case (4, WireVarint): u.Count = (long)r.ReadVarint(); break;
                default: r.Skip(wireType); break;
            }
        }
    }

    private sealed class TaskWire(ControlTask t) : IWireMessage
    {
        public ControlTask Message => t;

        public void WriteTo(WireWriter w)
        {
            Int(w, 1, t.Tid);
            Int(w, 2, t.Pid);
            if (t.Name.Length > 0) w.String(3, t.Name);
            if (t.State.Length > 0) w.String(4, t.State);
            Int(w, 5, t.SyscallPlusOne);
            if (t.SyscallName.Length > 0) w.String(6, t.SyscallName);
        }

        public void MergeField(ref WireReader r, int field, int wireType)
        {
            switch (field, wireType)
            {
                case (1, WireVarint): t.Tid = (int)r.ReadVarint(); break;
                case (2, WireVarint): t.Pid = (int)r.ReadVarint(); break;
                case (3, WireLengthDelimited): t.Name = r.ReadString(); break;
                case (4, WireLengthDelimited): t.State = r.ReadString(); break;
                case (5, WireVarint): t.SyscallPlusOne = (int)r.ReadVarint(); break;
                case (6, WireLengthDelimited): t.SyscallName = r.ReadString(); break;
                default: r.Skip(wireType); break;
            }
        }
    }

    private sealed class ResponseWire(ControlResponse m) : IWireMessage
    {
        public ControlResponse Message => m;

        public void WriteTo(WireWriter w)
        {
            if (m.Error != null) w.String(1, m.Error);
            Int(w, 2, m.Pid);
            Int(w, 3, m.WaitStatus);
            foreach (ControlProcess p in m.Processes) w.Message(4, new ProcessWire(p));
            foreach (ControlUnimplemented u in m.Unimplemented) w.Message(5, new UnimplementedWire(u));
            foreach (ControlTask t in m.Tasks) w.Message(6, new TaskWire(t));
        }

        public void MergeField(ref WireReader r, int field, int wireType)
        {
            switch (field, wireType)
            {
                case (1, WireLengthDelimited): m.Error = r.ReadString(); break;
                case (2, WireVarint): m.Pid = (int)r.ReadVarint(); break;
                case (3, WireVarint): m.WaitStatus = (int)r.ReadVarint(); break;
                case (4, WireLengthDelimited): m.Processes.Add(WireReader.Decode(r.ReadBytes(), new ProcessWire(new ControlProcess())).Message); break;
                case (5, WireLengthDelimited): m.Unimplemented.Add(WireReader.Decode(r.ReadBytes(), new UnimplementedWire(new ControlUnimplemented())).Message); break;
                case (6, WireLengthDelimited): m.Tasks.Add(WireReader.Decode(r.ReadBytes(), new TaskWire(new ControlTask())).Message); break;
                default: r.Skip(wireType); break;
            }
        }
    }
}
