namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// Layout of a checkpoint image file (all integers little-endian):
/// <code>
/// magic      8 bytes  "\x89RSNCKPT"
/// header     u32 length + JSON (<see cref="ImageHeader"/>)
/// padding    zero bytes up to the next multiple of 4096 (the page data offset)
/// pages      the page stream: PageCount 4096-byte pages, stored as they are (no compression),
///            each at a page-aligned file offset
/// graph      the protobuf encoding of <see cref="SandboxImage"/>, deflate-compressed
/// digests    one SHA-256 per page chunk (256 pages, the last one may be shorter), in order
/// footer     u64 page count, u32 graph raw length, u32 graph stored length, 32-byte SHA-256
///            of the graph's stored bytes
/// trailer    u8 0xFF, 32-byte SHA-256 of the image (below)
/// signature  optional: "RSNHMAC1" + HMAC-SHA256 of the image's SHA-256 (<see cref="ImageSignature"/>)
/// </code>
/// The image's SHA-256 (a two-level hash tree) is taken over every byte that is not page or graph
/// data, in file order: magic, header, padding, the chunk digests, the footer and the trailer's
/// 0xFF. Page and graph data are bound to it through their own SHA-256 in the digests and the
/// footer, so every byte of the image is covered while each is hashed once (version 2 hashed
/// everything twice, per chunk and whole). Every size is checked against the file's length
/// before anything is read (<see cref="ImageLayout"/>).
/// </summary>
public static class CheckpointImage
{
    /// <summary>
    /// The version of the layout and graph this runsc-net writes and reads. 2: unix sockets,
    /// eventfd/timerfd/signalfd/epoll files, POSIX timers, tmpfs contents, and the optional
    /// HMAC signature block. 3: pages stored uncompressed and page-aligned, one SHA-256 per page
    /// chunk in a digest table, the image's SHA-256 as a hash tree, the HMAC over that. 4: the
    /// console (terminal state, console descriptions), SysV IPC objects and attachments, CPU-time
    /// timers and CPU time used (a version 3 reader would silently drop them, so the number moved).
    /// </summary>
    public const int FormatVersion = 4;

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

    /// <summary>Pages per page chunk (one SHA-256 each).</summary>
    public const int PagesPerChunk = ChunkSize / PageSize;

    /// <summary>Bytes of the footer (page count, graph sizes, graph SHA-256).</summary>
    internal const int FooterSize = 8 + 4 + 4 + 32;

    /// <summary>Bytes of the trailer (0xFF, the image's SHA-256).</summary>
    internal const int TrailerSize = 1 + 32;

    internal const byte Trailer = 0xFF;
}
