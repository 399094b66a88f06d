using System.Buffers;
using System.Collections;
using System.Reflection;
using ProtoBuf;
using RunscNet.Gofer.Protocol;
using RunscNet.Sentry.Control;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// The hand-written encodings (generated Messages.Wire.cs, ControlMessageCodec) against
/// protobuf-net, the reference implementation of the [ProtoMember] contracts: every field set to
/// a value unlike its default must survive both directions. Fails when Messages.cs gained a field
/// and scripts/gen-gofer-wire.py was not rerun.
/// </summary>
public sealed class WireFormatTests
{
    public static IEnumerable<object[]> GoferContracts() =>
        typeof(IWireMessage).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<ProtoContractAttribute>() != null && t.Namespace == typeof(IWireMessage).Namespace)
            .Select(t => new object[] { t.Name });

    [Theory]
    [MemberData(nameof(GoferContracts))]
    public void GoferContractRoundTripsWithProtobufNet(string name)
    {
        Type type = typeof(IWireMessage).Assembly.GetTypes().Single(t => t.Name == name && t.Namespace == typeof(IWireMessage).Namespace);
        Assert.True(typeof(IWireMessage).IsAssignableFrom(type), $"{name} has no generated encoding (run scripts/gen-gofer-wire.py)");
        object original = Filled(type, 0);
        byte[] reference = ProtobufNet(original);

        // Ours -> protobuf-net.
        var writer = new ArrayBufferWriter<byte>();
        byte[] ours = MessageCodec.Encode(writer, Operation.Handshake, 1, original, 0)[PacketHeader.Size..].ToArray();
        object viaNet = RuntimeTypeModelDeserialize(type, ours);
        Assert.Equal(reference, ProtobufNet(viaNet));

        // protobuf-net -> ours.
        Assert.Equal(reference, ProtobufNet(DecodeWithOurs(type, reference)));
    }

    [Fact]
    public void ControlMessagesRoundTripWithProtobufNet()
    {
        var request = (ControlRequest)Filled(typeof(ControlRequest), 0);
        byte[] reference = ProtobufNet(request);
        Assert.Equal(reference, ProtobufNet(RuntimeTypeModelDeserialize(typeof(ControlRequest), ControlMessageCodec.Encode(request))));
        Assert.Equal(reference, ProtobufNet(ControlMessageCodec.DecodeRequest(reference)));
        Assert.Equal("/", ControlMessageCodec.DecodeRequest(ControlMessageCodec.Encode(new ControlRequest())).Cwd);

        var response = (ControlResponse)Filled(typeof(ControlResponse), 0);
        reference = ProtobufNet(response);
        Assert.Equal(reference, ProtobufNet(RuntimeTypeModelDeserialize(typeof(ControlResponse), ControlMessageCodec.Encode(response))));
        Assert.Equal(reference, ProtobufNet(ControlMessageCodec.DecodeResponse(reference)));
    }

    [Fact]
    public void MalformedPayloadsDecodeToFalse()
    {
        Assert.False(MessageCodec.TryDecode<WalkRequest>([0x08], out _));          // truncated varint
        Assert.False(MessageCodec.TryDecode<WalkRequest>([0x12, 0x05, 0x61], out _)); // string past the end
        Assert.False(MessageCodec.TryDecode<WalkRequest>([0x0b], out _));          // wire type 3
        Assert.True(MessageCodec.TryDecode<WalkRequest>([0xf8, 0x01, 0x07], out _)); // unknown field 31 skipped
    }

    private static object DecodeWithOurs(Type type, byte[] payload)
    {
        MethodInfo m = typeof(WireFormatTests).GetMethod(nameof(DecodeGeneric), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type);
        return m.Invoke(null, [payload])!;
    }

    private static T DecodeGeneric<T>(byte[] payload) where T : class
    {
        Assert.True(MessageCodec.TryDecode(payload, out T? message));
        return message!;
    }

    private static byte[] ProtobufNet(object message)
    {
        using var stream = new MemoryStream();
        Serializer.NonGeneric.Serialize(stream, message);
        return stream.ToArray();
    }

    private static object RuntimeTypeModelDeserialize(Type type, byte[] payload)
    {
        using var stream = new MemoryStream(payload);
        return Serializer.NonGeneric.Deserialize(type, stream);
    }

    /// <summary>An instance with every [ProtoMember] property set to a value unlike its default (negative where signed).</summary>
    private static object Filled(Type type, int depth)
    {
        object o = Activator.CreateInstance(type)!;
        foreach (PropertyInfo p in type.GetProperties())
        {
            var member = p.GetCustomAttribute<ProtoMemberAttribute>();
            if (member == null) continue;
            int n = member.Tag;
            Type t = p.PropertyType;
            object? value =
                t == typeof(int) ? -1000 - n :
                t == typeof(long) ? -5_000_000_000L - n :
                t == typeof(uint) ? 4_000_000_000u + (uint)n :
                t == typeof(ulong) ? ulong.MaxValue - (ulong)n :
                t == typeof(bool) ? true :
                t == typeof(string) ? $"value {n} é" :
                t == typeof(byte[]) ? new byte[] { 0, 1, (byte)n, 255 } :
                t.IsEnum ? Enum.GetValues(t).GetValue(Enum.GetValues(t).Length - 1) :
                t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>) ? ListOf(t.GetGenericArguments()[0], depth) :
                depth < 3 && t.IsClass ? Filled(t, depth + 1) : null;
            if (value != null) p.SetValue(o, value);
        }
        return o;
    }

    private static IList ListOf(Type item, int depth)
    {
        var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(item))!;
        for (int i = 0; i < 2; i++) list.Add(item == typeof(string) ? $"item {i}" : Filled(item, depth + 1));
        return list;
    }
}
