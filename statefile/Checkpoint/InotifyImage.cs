using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>An inotify instance: its watches (by path), its events not yet read, and the next wd it gives.</summary>
[ProtoContract]
public sealed class InotifyImage
{
    [ProtoMember(1)] public List<InotifyWatchImage> Watches { get; set; } = new();
    /// <summary>Queued events, each one whole <c>struct inotify_event</c> record as read(2) returns it.</summary>
    [ProtoMember(2)] public List<byte[]> Events { get; set; } = new();
    [ProtoMember(3)] public int NextWd { get; set; }
}

/// <summary>One watch: its descriptor, the watched file's path in the container, and its mask.</summary>
[ProtoContract]
public sealed class InotifyWatchImage
{
    [ProtoMember(1)] public int Wd { get; set; }
    [ProtoMember(2)] public string Path { get; set; } = "";
    [ProtoMember(3)] public uint Mask { get; set; }
}
