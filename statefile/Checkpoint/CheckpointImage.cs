namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// Layout of a checkpoint image file (all integers little-endian):
/// <code>
/// magic      8 bytes  "\x89RSNCKPT"
/// header     u32 length + JSON (<see cref="ImageHeader"/>)
/// chunks     u8 stream (1 graph, 2 pages), u32 raw length, u32 stored length,
///            32-byte SHA-256 of the stored bytes, stored (deflate) bytes
/// trailer    u8 0xFF, 32-byte SHA-256 of every byte before it
/// signature  optional: "RSNHMAC1" + HMAC-SHA256 of every byte before it (<see cref="ImageSignature"/>)
/// </code>
/// The graph stream is the protobuf encoding of <see cref="SandboxImage"/>; the page stream is
/// 4096-byte pages in the order the graph's VMAs name them.
/// </summary>
public static class CheckpointImage
{
    /// <summary>
    /// The version of the layout and graph this runsc-net writes and reads. 2: unix sockets,
    /// eventfd/timerfd/signalfd/epoll files, POSIX timers, tmpfs contents, and the optional
    /// HMAC signature block.
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>The image's file name inside --image-path.</summary>
    public const string FileName = "checkpoint.img";

    /// <summary>The marker podman looks for in --image-path (CRIU's inventory file name).</summary>
    public const string InventoryFileName = "inventory.img";

    /// <summary>Memory page size.</summary>
    public const int PageSize = 4096;

    /// <summary>Raw bytes per chunk (a whole number of pages).</summary>
    public const int ChunkSize = 256 * PageSize;

    /// <summary>Largest header accepted.</summary>
    public const int MaxHeaderSize = 64 * 1024;

    /// <summary>Largest object graph accepted (the page stream is not bounded by this).</summary>
    public const long MaxGraphSize = 256L * 1024 * 1024;

    internal static ReadOnlySpan<byte> Magic => [0x89, (byte)'R', (byte)'S', (byte)'N', (byte)'C', (byte)'K', (byte)'P', (byte)'T'];

    internal const byte GraphStream = 1, PageStream = 2, Trailer = 0xFF;
}
