using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// Writes a checkpoint image to a stream (see <see cref="CheckpointImage"/> for the layout): the
/// header, then pages as they are added (<see cref="AddPage"/>, chunked and compressed), then the
/// graph and the trailer (<see cref="Finish"/>). The caller writes to a temporary file and
/// renames it once <see cref="Finish"/> returned, so no half image is ever visible.
/// </summary>
public sealed class ImageWriter
{
    private readonly Stream _out;
    private readonly Sha256 _whole = new Sha256();
    private readonly byte[] _pageChunk = new byte[CheckpointImage.ChunkSize];
    private int _pageChunkUsed;

    /// <summary>Pages added so far (the index the next page gets).</summary>
    public long PageCount { get; private set; }

    /// <summary>Starts an image with <paramref name="header"/> (its format version is set here).</summary>
    public ImageWriter(Stream output, ImageHeader header)
    {
        _out = output;
        header.FormatVersion = CheckpointImage.FormatVersion;
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, ImageHeaderJsonContext.Default.ImageHeader);
        Write(CheckpointImage.Magic);
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)json.Length);
        Write(len);
        Write(json);
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

    /// <summary>Writes <paramref name="graph"/>, the trailer, and flushes.</summary>
    public void Finish(SandboxImage graph)
    {
        FlushPages();
        var ms = new MemoryStream();
        Serializer.Serialize(ms, graph);
        byte[] bytes = ms.ToArray();
        int at = 0;
        do
        {
            int n = Math.Min(CheckpointImage.ChunkSize, bytes.Length - at);
            WriteChunk(CheckpointImage.GraphStream, bytes.AsSpan(at, n));
            at += n;
        }
        while (at < bytes.Length);
        Write([CheckpointImage.Trailer]);
        Span<byte> digest = stackalloc byte[Sha256.HashSize];
        _whole.Finish(digest);
        _out.Write(digest);
        _out.Flush();
    }

    private void FlushPages()
    {
        if (_pageChunkUsed == 0) return;
        WriteChunk(CheckpointImage.PageStream, _pageChunk.AsSpan(0, _pageChunkUsed));
        _pageChunkUsed = 0;
    }

    private void WriteChunk(byte stream, ReadOnlySpan<byte> raw)
    {
        var compressed = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) deflate.Write(raw);
        byte[] stored = compressed.ToArray();
        Span<byte> head = stackalloc byte[9 + 32];
        head[0] = stream;
        BinaryPrimitives.WriteUInt32LittleEndian(head[1..], (uint)raw.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[5..], (uint)stored.Length);
        Sha256.HashData(stored, head[9..]);
        Write(head);
        Write(stored);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _whole.Append(bytes);
        _out.Write(bytes);
    }
}
