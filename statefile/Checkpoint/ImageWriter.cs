using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// Writes a checkpoint image to a stream (see <see cref="CheckpointImage"/> for the layout): the
/// header, then pages as they are added (<see cref="AddPage"/>: stored as they are, page-aligned,
/// one SHA-256 per 1 MiB chunk, written in 1 MiB writes), then the graph, the digest table, the
/// footer and the trailer (<see cref="Finish"/>). The stream is only appended to (no seeking).
/// Each page is hashed once. The caller writes to a temporary file and renames it once
/// <see cref="Finish"/> returned, so no half image is ever visible.
/// </summary>
public sealed class ImageWriter
{
    private readonly Stream _out;
    private readonly byte[] _pageChunk = new byte[CheckpointImage.ChunkSize];
    private int _pageChunkUsed;
    /// <summary>The bytes the image's SHA-256 covers (everything but page and graph data).</summary>
    private readonly MemoryStream _covered = new();
    private readonly MemoryStream _digests = new();

    /// <summary>Pages added so far (the index the next page gets).</summary>
    public long PageCount { get; private set; }

    /// <summary>Starts an image with <paramref name="header"/> (its format version and compression are set here).</summary>
    public ImageWriter(Stream output, ImageHeader header)
    {
        _out = output;
        header.FormatVersion = CheckpointImage.FormatVersion;
        header.Compression = "none (pages), deflate (graph)";
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, ImageHeaderJsonContext.Default.ImageHeader);
        if (json.Length > CheckpointImage.MaxHeaderSize) throw new ArgumentException("the image header is too large", nameof(header));
        int magicLength = CheckpointImage.Magic.Length;
        var head = new byte[ImageLayout.Align(magicLength + 4 + json.Length)];
        CheckpointImage.Magic.CopyTo(head);
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(magicLength), (uint)json.Length);
        json.CopyTo(head, magicLength + 4);
        _covered.Write(head);
        _out.Write(head);
    }

    /// <summary>Appends one page to the page stream; returns its index.</summary>
    public long AddPage(ReadOnlySpan<byte> page)
    {
        if (page.Length != CheckpointImage.PageSize) throw new ArgumentException("a page is 4096 bytes", nameof(page));
        page.CopyTo(_pageChunk.AsSpan(_pageChunkUsed));
        _pageChunkUsed += CheckpointImage.PageSize;
        if (_pageChunkUsed == _pageChunk.Length) FlushPages();
        return PageCount++;
    }

    /// <summary>Writes <paramref name="graph"/>, the digest table, footer and trailer, and flushes.</summary>
    public void Finish(SandboxImage graph)
    {
        FlushPages();
        var ms = new MemoryStream();
        Serializer.Serialize(ms, graph);
        if (ms.Length > CheckpointImage.MaxGraphSize) throw new InvalidOperationException($"the object graph ({ms.Length} bytes) is larger than an image may hold");
        var compressed = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) deflate.Write(ms.GetBuffer(), 0, (int)ms.Length);
        byte[] stored = compressed.ToArray();
        _out.Write(stored);
        byte[] digests = _digests.ToArray();
        var tail = new byte[digests.Length + CheckpointImage.FooterSize + 1];
        digests.CopyTo(tail, 0);
        var footer = tail.AsSpan(digests.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(footer, (ulong)PageCount);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[8..], (uint)ms.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[12..], (uint)stored.Length);
        Sha256.HashData(stored, footer.Slice(16, Sha256.HashSize));
        footer[CheckpointImage.FooterSize] = CheckpointImage.Trailer;
        _covered.Write(tail);
        var digest = new byte[Sha256.HashSize];
        Sha256.HashData(_covered.GetBuffer().AsSpan(0, (int)_covered.Length), digest);
        _out.Write(tail);
        _out.Write(digest);
        _out.Flush();
    }

    private void FlushPages()
    {
        if (_pageChunkUsed == 0) return;
        Span<byte> digest = stackalloc byte[Sha256.HashSize];
        var chunk = _pageChunk.AsSpan(0, _pageChunkUsed);
        Sha256.HashData(chunk, digest);
        _digests.Write(digest);
        _out.Write(chunk);
        _pageChunkUsed = 0;
    }
}
