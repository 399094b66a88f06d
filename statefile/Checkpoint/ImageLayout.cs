using System.Buffers.Binary;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// Where the parts of a checkpoint image lie (see <see cref="CheckpointImage"/>), read from its
/// fixed-size start and end and checked against the file's length before anything else is read:
/// the page count, graph sizes and digest table must add up to exactly the length, so a
/// truncated or extended file, or a size field changed, is refused here. Every value of the
/// image is untrusted: nothing in here is used before these checks passed.
/// </summary>
internal sealed class ImageLayout
{
    /// <summary>Bytes of the JSON header.</summary>
    public int HeaderLength { get; private init; }

    /// <summary>File offset of the first page (a multiple of 4096).</summary>
    public long PageDataOffset { get; private init; }

    /// <summary>Pages in the page stream.</summary>
    public long PageCount { get; private init; }

    /// <summary>Raw (inflated) size of the object graph.</summary>
    public int GraphRawLength { get; private init; }

    /// <summary>Stored (deflated) size of the object graph.</summary>
    public int GraphStoredLength { get; private init; }

    /// <summary>File offset of the graph's stored bytes.</summary>
    public long GraphOffset => PageDataOffset + PageCount * CheckpointImage.PageSize;

    /// <summary>Number of page chunks (each with a SHA-256 in the digest table).</summary>
    public long ChunkCount => (PageCount + CheckpointImage.PagesPerChunk - 1) / CheckpointImage.PagesPerChunk;

    /// <summary>SHA-256 of each page chunk, 32 bytes each, in order.</summary>
    public byte[] ChunkDigests { get; private init; } = [];

    /// <summary>SHA-256 of the graph's stored bytes.</summary>
    public byte[] GraphDigest { get; private init; } = [];

    /// <summary>The image's SHA-256 as recorded in its trailer.</summary>
    public byte[] StoredImageDigest { get; private init; } = [];

    /// <summary>The image's SHA-256 computed from its bytes (the hash tree's root).</summary>
    public byte[] ImageDigest { get; private init; } = [];

    /// <summary>Whether the trailer's marker byte is there.</summary>
    public bool HasTrailerMarker { get; private init; }

    /// <summary>The header's JSON bytes (untrusted).</summary>
    public byte[] HeaderBytes { get; private init; } = [];

    /// <summary>The file offset where page <paramref name="index"/> lies.</summary>
    public long PageOffset(long index) => PageDataOffset + index * CheckpointImage.PageSize;

    /// <summary>Pages in chunk <paramref name="chunk"/> (256 but for a short last one).</summary>
    public int PagesInChunk(long chunk) => (int)Math.Min(CheckpointImage.PagesPerChunk, PageCount - chunk * CheckpointImage.PagesPerChunk);

    /// <summary>
    /// Reads the magic and the header of the image in <paramref name="input"/> (seekable; its
    /// first <paramref name="length"/> bytes, without a signature block): a foreign file and an
    /// invalid header length are refused here. <see cref="ReadTail"/> does the rest.
    /// </summary>
    public static (int HeaderLength, byte[] Header) ReadHead(Stream input, long length, string name)
    {
        int magicLength = CheckpointImage.Magic.Length;
        if (length < magicLength + 4 + 2 + CheckpointImage.FooterSize + CheckpointImage.TrailerSize)
        {
            // A foreign file this short still gets its own message.
            if (length >= magicLength && !StartsWithMagic(input)) throw new CheckpointImageException($"{name} is not a runsc-net checkpoint image");
            throw Damaged(name, "it is too short (truncated)");
        }
        var head = new byte[magicLength + 4];
        input.Position = 0;
        input.ReadExactly(head);
        if (!head.AsSpan(0, magicLength).SequenceEqual(CheckpointImage.Magic))
            throw new CheckpointImageException($"{name} is not a runsc-net checkpoint image");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(magicLength));
        if (headerLength == 0 || headerLength > CheckpointImage.MaxHeaderSize
            || magicLength + 4 + headerLength > length - CheckpointImage.FooterSize - CheckpointImage.TrailerSize)
            throw Damaged(name, "its header length is invalid");
        var header = new byte[headerLength];
        input.ReadExactly(header);
        return ((int)headerLength, header);
    }

    /// <summary>
    /// The whole layout of the image: <see cref="ReadHead"/>, then the footer, whose sizes must
    /// add up to <paramref name="length"/> exactly, the digest table, and the image's SHA-256
    /// computed over the bytes it covers. The caller compares <see cref="ImageDigest"/> with
    /// <see cref="StoredImageDigest"/> (or an HMAC over it) before it believes anything else.
    /// </summary>
    public static ImageLayout ReadTail(Stream input, long length, string name)
    {
        var (headerLength, header) = ReadHead(input, length, name);
        long pageData = Align(CheckpointImage.Magic.Length + 4 + headerLength);
        int tailFixed = CheckpointImage.FooterSize + CheckpointImage.TrailerSize;
        var tail = new byte[tailFixed];
        input.Position = length - tailFixed;
        input.ReadExactly(tail);
        ulong pageCount = BinaryPrimitives.ReadUInt64LittleEndian(tail);
        uint graphRaw = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(8));
        uint graphStored = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(12));
        // Each bound keeps the sum below from overflowing: pages no more than the file holds,
        // the graph within its limit (deflate can grow incompressible data by a little).
        if (pageCount > (ulong)(length / CheckpointImage.PageSize) || graphRaw > CheckpointImage.MaxGraphSize
            || graphStored == 0 || graphStored > CheckpointImage.MaxGraphSize + (1 << 20))
            throw Damaged(name, "its sizes are invalid (truncated or altered)");
        long pages = (long)pageCount;
        long chunks = (pages + CheckpointImage.PagesPerChunk - 1) / CheckpointImage.PagesPerChunk;
        long expected = pageData + pages * CheckpointImage.PageSize + graphStored + chunks * Sha256.HashSize + tailFixed;
        if (expected != length) throw Damaged(name, "its sizes do not add up to its length (truncated or altered)");
        // The bytes the image's SHA-256 covers: everything before the pages, then the digest
        // table, the footer and the trailer's marker.
        long digestsAt = length - tailFixed - chunks * Sha256.HashSize;
        var covered = new byte[pageData + chunks * Sha256.HashSize + tailFixed - Sha256.HashSize];
        input.Position = 0;
        input.ReadExactly(covered.AsSpan(0, (int)pageData));
        input.Position = digestsAt;
        input.ReadExactly(covered.AsSpan((int)pageData));
        var digest = new byte[Sha256.HashSize];
        Sha256.HashData(covered, digest);
        return new ImageLayout
        {
            HeaderLength = headerLength,
            HeaderBytes = header,
            PageDataOffset = pageData,
            PageCount = pages,
            GraphRawLength = (int)graphRaw,
            GraphStoredLength = (int)graphStored,
            ChunkDigests = covered.AsSpan((int)pageData, (int)(chunks * Sha256.HashSize)).ToArray(),
            GraphDigest = tail.AsSpan(16, Sha256.HashSize).ToArray(),
            HasTrailerMarker = tail[CheckpointImage.FooterSize] == CheckpointImage.Trailer,
            StoredImageDigest = tail.AsSpan(CheckpointImage.FooterSize + 1).ToArray(),
            ImageDigest = digest,
        };
    }

    /// <summary><paramref name="offset"/> rounded up to a page.</summary>
    internal static long Align(long offset) => (offset + CheckpointImage.PageSize - 1) & ~(long)(CheckpointImage.PageSize - 1);

    private static bool StartsWithMagic(Stream input)
    {
        var magic = new byte[CheckpointImage.Magic.Length];
        input.Position = 0;
        input.ReadExactly(magic);
        return magic.AsSpan().SequenceEqual(CheckpointImage.Magic);
    }

    internal static CheckpointImageException Damaged(string name, string why) =>
        new($"checkpoint image {name} is damaged: {why}");
}
