using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// The container's console as the application left it: the line discipline's settings and window
/// size (the host pty's, read with TCGETS and TIOCGWINSZ) and the job-control state the Sentry
/// keeps for it. Restore puts them on the console the new sandbox was given.
/// </summary>
[ProtoContract]
public sealed class ConsoleImage
{
    /// <summary>struct termios as TCGETS returns it (36 bytes).</summary>
    [ProtoMember(1)] public byte[] Termios { get; set; } = Array.Empty<byte>();
    /// <summary>struct winsize (8 bytes).</summary>
    [ProtoMember(2)] public byte[] WindowSize { get; set; } = Array.Empty<byte>();
    /// <summary>The session whose controlling terminal it is (0: none).</summary>
    [ProtoMember(3)] public int Session { get; set; }
    /// <summary>Its foreground process group.</summary>
    [ProtoMember(4)] public int ForegroundProcessGroup { get; set; }
}
