using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// A checkpoint image read back and verified: the magic, the format version, the SHA-256 over
/// the whole file, then each chunk's SHA-256 and sizes, all before the graph is decoded. Any
/// failure is a <see cref="CheckpointImageException"/> with a one-line message. The graph is
/// still untrusted after this (a valid image can be hand-made): its users validate every value.
/// </summary>
public sealed class ImageReader
{
    private readonly List<byte[]> _pageChunks;

    /// <summary>The image's metadata.</summary>
    public ImageHeader Header { get; }

    /// <summary>The saved object graph.</summary>
    public SandboxImage Graph { get; }

    /// <summary>Number of pages in the page stream.</summary>
    public long PageCount { get; }

    private ImageReader(ImageHeader header, SandboxImage graph, List<byte[]> pageChunks, long pageCount)
    {
        Header = header;
        Graph = graph;
        _pageChunks = pageChunks;
        PageCount = pageCount;
    }

    /// <summary>Page <paramref name="index"/> of the page stream (4096 bytes); throws when out of range.</summary>
    public ReadOnlySpan<byte> Page(long index)
    {
        if (index < 0 || index >= PageCount) throw new CheckpointImageException($"checkpoint image: page {index} is outside the page stream ({PageCount} pages)");
        const int perChunk = CheckpointImage.ChunkSize / CheckpointImage.PageSize;
        return _pageChunks[(int)(index / perChunk)].AsSpan((int)(index % perChunk) * CheckpointImage.PageSize, CheckpointImage.PageSize);
    }

    /// <summary>
    /// Reads and verifies the image file <paramref name="path"/>: first its HMAC against
    /// <paramref name="key"/> (the --image-key file's bytes; null: none given, and the image must
    /// be unsigned), see <see cref="ImageSignature"/>, then everything <see cref="Read"/> checks.
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="key">The --image-key bytes, or null.</param>
    /// <param name="pages">False: page chunks are checked by the whole-image SHA-256 and their sizes
    /// only, not inflated nor kept (the runtime's check before a restore; the Sentry checks each
    /// chunk's hash and inflates them).</param>
    public static ImageReader ReadFile(string path, byte[]? key = null, bool pages = true)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            ImageSignature.Verify(f, key, path);
            return Read(f, path, pages);
        }
        catch (FileNotFoundException)
        {
            throw new CheckpointImageException($"checkpoint image {path} does not exist");
        }
        catch (DirectoryNotFoundException)
        {
            throw new CheckpointImageException($"checkpoint image {path} does not exist");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CheckpointImageException($"checkpoint image {path}: {e.Message}");
        }
    }

    /// <summary>
    /// Reads and verifies an image from <paramref name="input"/> (a seekable stream); <paramref name="name"/>
    /// names it in errors. A signature block is skipped, not checked: the runtime, which holds the
    /// key, checked it (<see cref="ReadFile"/>) before handing the image to the Sentry.
    /// </summary>
    public static ImageReader Read(Stream input, string name, bool pages = true)
    {
        long length = ImageSignature.UnsignedLength(input);
        int magicLength = CheckpointImage.Magic.Length;
        if (length < magicLength + 4 + 1 + 32) throw Damaged(name, "it is too short (truncated)");
        var head = new byte[magicLength + 4];
        input.Position = 0;
        input.ReadExactly(head);
        if (!head.AsSpan(0, magicLength).SequenceEqual(CheckpointImage.Magic))
            throw new CheckpointImageException($"{name} is not a runsc-net checkpoint image");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(magicLength));
        if (headerLength == 0 || headerLength > CheckpointImage.MaxHeaderSize || magicLength + 4 + headerLength > length - 33)
            throw Damaged(name, "its header length is invalid");
        var headerBytes = new byte[headerLength];
        input.ReadExactly(headerBytes);
        ImageHeader header;
        try
        {
            header = JsonSerializer.Deserialize(headerBytes, ImageHeaderJsonContext.Default.ImageHeader)
                ?? throw Damaged(name, "its header is empty");
        }
        catch (JsonException)
        {
            throw Damaged(name, "its header is not valid JSON");
        }
        // The version is checked before the checksum so a newer (or older) image gets its own
        // message; nothing else of the header is believed until the checksum matches.
        if (header.FormatVersion != CheckpointImage.FormatVersion)
            throw new CheckpointImageException(
                $"checkpoint image {name} has format version {header.FormatVersion} (written by runsc-net {Clip(header.RunscNetVersion)}); this runsc-net reads version {CheckpointImage.FormatVersion}");

        VerifyWholeHash(input, length, name);

        input.Position = magicLength + 4 + headerLength;
        long end = length - 33;
        var graph = new MemoryStream();
        var pageChunks = new List<byte[]>();
        long pageBytes = 0;
        long lastPageChunk = -1;
        var chunkHead = new byte[9 + 32];
        var digest = new byte[32];
        while (input.Position < end)
        {
            if (end - input.Position < chunkHead.Length) throw Damaged(name, "a chunk header is cut short");
            input.ReadExactly(chunkHead);
            byte stream = chunkHead[0];
            uint raw = BinaryPrimitives.ReadUInt32LittleEndian(chunkHead.AsSpan(1));
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(chunkHead.AsSpan(5));
            if (stream is not (CheckpointImage.GraphStream or CheckpointImage.PageStream))
                throw Damaged(name, $"unknown chunk type {stream}");
            if (raw > CheckpointImage.ChunkSize || stored > end - input.Position || stored > CheckpointImage.ChunkSize * 2L + 1024)
                throw Damaged(name, "a chunk's size is invalid");
            var storedBytes = new byte[stored];
            input.ReadExactly(storedBytes);
            // Without pages (the runtime's check) a page chunk is covered by the whole-image hash
            // already; the Sentry, which uses the pages, checks each chunk's own.
            if (pages || stream == CheckpointImage.GraphStream)
            {
                Sha256.HashData(storedBytes, digest);
                if (!digest.AsSpan().SequenceEqual(chunkHead.AsSpan(9, 32))) throw Damaged(name, "a chunk's SHA-256 does not match");
            }
            if (stream == CheckpointImage.GraphStream)
            {
                if (graph.Length + raw > CheckpointImage.MaxGraphSize) throw Damaged(name, "its object graph is too large");
                graph.Write(Inflate(storedBytes, (int)raw, name));
            }
            else
            {
                // Every page chunk but the last is full, so page i is in chunk i / 256.
                if (raw % CheckpointImage.PageSize != 0 || raw == 0) throw Damaged(name, "a page chunk is not a whole number of pages");
                if (lastPageChunk >= 0 && lastPageChunk != CheckpointImage.ChunkSize) throw Damaged(name, "a page chunk other than the last is short");
                lastPageChunk = raw;
                if (pages) pageChunks.Add(Inflate(storedBytes, (int)raw, name));
                pageBytes += raw;
            }
        }
        SandboxImage g;
        try
        {
            graph.Position = 0;
            g = Serializer.Deserialize<SandboxImage>(graph);
        }
        catch (Exception e) when (e is ProtoException or InvalidOperationException or EndOfStreamException or OverflowException or ArgumentException)
        {
            throw Damaged(name, $"its object graph cannot be decoded ({e.GetType().Name})");
        }
        return new ImageReader(header, g, pageChunks, pageBytes / CheckpointImage.PageSize);
    }

    private static void VerifyWholeHash(Stream input, long length, string name)
    {
        var hash = new Sha256();
        input.Position = 0;
        var buf = new byte[1 << 16];
        long left = length - 32;
        while (left > 0)
        {
            int n = input.Read(buf, 0, (int)Math.Min(buf.Length, left));
            if (n <= 0) throw Damaged(name, "it ends early (truncated)");
            hash.Append(buf.AsSpan(0, n));
            left -= n;
        }
        var expected = new byte[32];
        input.ReadExactly(expected);
        input.Position = length - 33;
        int trailer = input.ReadByte();
        var actual = new byte[Sha256.HashSize];
        hash.Finish(actual);
        if (trailer != CheckpointImage.Trailer || !actual.AsSpan().SequenceEqual(expected))
            throw Damaged(name, "its SHA-256 does not match (truncated or altered)");
    }

    private static byte[] Inflate(byte[] stored, int raw, string name)
    {
        var data = new byte[raw];
        try
        {
            using var inflate = new DeflateStream(new MemoryStream(stored), CompressionMode.Decompress);
            int got = 0;
            while (got < raw)
            {
                int n = inflate.Read(data, got, raw - got);
                if (n == 0) break;
                got += n;
            }
            // Exactly the announced size: no more, no less.
            if (got != raw || inflate.ReadByte() != -1) throw Damaged(name, "a chunk does not inflate to its recorded size");
        }
        catch (InvalidDataException)
        {
            throw Damaged(name, "a chunk cannot be inflated");
        }
        return data;
    }

    private static string Clip(string s) => s.Length > 32 ? s[..32] + "..." : s;

    private static CheckpointImageException Damaged(string name, string why) =>
        new($"checkpoint image {name} is damaged: {why}");
}
