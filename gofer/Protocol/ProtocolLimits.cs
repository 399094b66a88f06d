namespace RunscNet.Gofer.Protocol;

/// <summary>Constants both sides agree on; a change of the wire format bumps <see cref="Version"/>.</summary>
internal static class ProtocolLimits
{
    /// <summary>The protocol version; the handshake and every header must carry exactly this.</summary>
    public const ushort Version = 1;

    /// <summary>
    /// The largest packet (header + payload) either side sends or accepts; a larger one is
    /// refused with EMSGSIZE. Big enough for an xattr value of XATTR_SIZE_MAX plus framing.
    /// </summary>
    public const int MaxMessageSize = 128 * 1024;

    /// <summary>The most fds one packet may carry.</summary>
    public const int MaxFdsPerMessage = 1;

    /// <summary>NAME_MAX: the longest file-name component in bytes.</summary>
    public const int MaxNameLength = 255;

    /// <summary>PATH_MAX: the longest symlink target or attach path in bytes (without the NUL).</summary>
    public const int MaxPathLength = 4095;

    /// <summary>The most components one WalkMany request may name.</summary>
    public const int MaxWalkComponents = 256;

    /// <summary>Payload budget for one GetDents answer; the client asks again from the returned cookie.</summary>
    public const int DirentBatchBytes = 32 * 1024;
}
