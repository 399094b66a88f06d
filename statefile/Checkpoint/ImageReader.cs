using System.IO.Compression;
using System.Text.Json;
using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// A checkpoint image read back and verified: the magic, the format version, the layout's sizes
/// against the file's length, the image's SHA-256, the graph's SHA-256, and (unless the caller
/// defers it) every page chunk's SHA-256, all before the graph is decoded. Any failure is a
/// <see cref="CheckpointImageException"/> with a one-line message. Pages are read from the
/// image when they are used (<see cref="ReadPages"/>), a chunk at a time, and each chunk's
/// SHA-256 is checked again on every read, so what is used is what was verified even if the file
/// changes meanwhile. The graph is still untrusted after this (a valid image can be hand-made):
/// its users validate every value.
/// </summary>
public sealed class ImageReader
{
    /// <summary>Where pages are read: the image file's handle (pread), or a stream; null once ReadFile closed it.</summary>
    private readonly object? _input;
    private readonly ImageLayout _layout;
    private readonly string _name;
    private readonly object _chunkLock = new();
    private byte[]? _chunk;
    private long _chunkIndex = -1;

    /// <summary>The image's metadata.</summary>
    public ImageHeader Header { get; }

    /// <summary>The saved object graph.</summary>
    public SandboxImage Graph { get; }

    /// <summary>Number of pages in the page stream.</summary>
    public long PageCount => _layout.PageCount;

    /// <summary>Called with consecutive pages of the page stream (a whole number of 4096-byte pages).</summary>
    public delegate void PageRunAction(long firstPage, ReadOnlySpan<byte> pages);

    private ImageReader(object? input, string name, ImageLayout layout, ImageHeader header, SandboxImage graph)
    {
        _input = input;
        _name = name;
        _layout = layout;
        Header = header;
        Graph = graph;
    }

    /// <summary>A copy of page <paramref name="index"/> of the page stream (4096 bytes); throws when out of range.</summary>
    public ReadOnlySpan<byte> Page(long index)
    {
        var copy = new byte[CheckpointImage.PageSize];
        ReadPages(index, 1, (_, data) => data.CopyTo(copy));
        return copy;
    }

    /// <summary>
    /// Hands pages <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/>
    /// to <paramref name="action"/>, in runs of at most one chunk (1 MiB), each chunk read and
    /// its SHA-256 checked first. The span is valid only during the call. Calls from several
    /// threads are serialized.
    /// </summary>
    public void ReadPages(long first, long count, PageRunAction action)
    {
        if (first < 0 || count < 0 || first > PageCount - count)
            throw new CheckpointImageException($"checkpoint image: pages {first}..{first + count} are outside the page stream ({PageCount} pages)");
        if (_input == null) throw new InvalidOperationException("the image's pages were not kept (ReadFile)");
        const int perChunk = CheckpointImage.PagesPerChunk;
        lock (_chunkLock)
        {
            while (count > 0)
            {
                long chunk = first / perChunk;
                int at = (int)(first % perChunk);
                int n = (int)Math.Min(count, _layout.PagesInChunk(chunk) - at);
                if (_chunkIndex != chunk) SwitchTo(chunk);
                action(first, _chunk!.AsSpan(at * CheckpointImage.PageSize, n * CheckpointImage.PageSize));
                first += n;
                count -= n;
            }
        }
    }

    /// <summary>Time spent reading and checking page chunks (for the debug log).</summary>
    public TimeSpan PageReadTime => TimeSpan.FromTicks(Interlocked.Read(ref _pageReadTicks));

    private long _pageReadTicks;
    private byte[]? _spare;
    private long _prefetchIndex = -1;
    private System.Threading.Tasks.Task? _prefetch;

    /// <summary>
    /// Makes <paramref name="chunk"/> the current chunk: taken from the read-ahead when that
    /// fetched it, else read and checked now. Then the next chunk is read and checked on another
    /// thread while the caller uses this one (pages are mostly read in order), so hashing overlaps
    /// with writing the pages out. Precondition: the caller holds _chunkLock.
    /// </summary>
    private void SwitchTo(long chunk)
    {
        var input = _input!;
        _chunk ??= new byte[CheckpointImage.ChunkSize];
        _chunkIndex = -1;
        bool fetched = false;
        if (_prefetch != null)
        {
            var pending = _prefetch;
            _prefetch = null;
            try
            {
                pending.GetAwaiter().GetResult();
                fetched = _prefetchIndex == chunk;
            }
            catch (Exception) when (_prefetchIndex != chunk)
            {
                // A read-ahead of a chunk not wanted now: its failure is not this read's.
            }
            if (fetched) (_chunk, _spare) = (_spare!, _chunk);
        }
        if (!fetched) TimedLoad(input, chunk, _chunk);
        _chunkIndex = chunk;
        long next = chunk + 1;
        if (next < _layout.ChunkCount)
        {
            _spare ??= new byte[CheckpointImage.ChunkSize];
            var buffer = _spare;
            _prefetchIndex = next;
            _prefetch = System.Threading.Tasks.Task.Run(() => TimedLoad(input, next, buffer));
        }
    }

    private void TimedLoad(object input, long chunk, byte[] buffer)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            LoadChunk(input, _layout, _name, chunk, buffer);
        }
        finally
        {
            Interlocked.Add(ref _pageReadTicks, System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks);
        }
    }

    /// <summary>Waits for a read-ahead still running (call before the stream is closed).</summary>
    public void Quiesce()
    {
        lock (_chunkLock)
        {
            try { _prefetch?.Wait(); }
            catch (AggregateException) { }
            _prefetch = null;
            _prefetchIndex = -1;
        }
    }

    /// <summary>
    /// Reads and verifies the image file <paramref name="path"/>: first its HMAC against
    /// <paramref name="key"/> (the --image-key file's bytes; null: none given, and the image must
    /// be unsigned), see <see cref="ImageSignature"/>, then everything <see cref="Read"/> checks,
    /// every page chunk included (on up to four threads). The pages are not kept.
    /// <paramref name="decodeGraph"/> false: the graph's SHA-256 and size are checked but it is
    /// not decoded (<see cref="Graph"/> is empty): the runtime's check before a restore, which
    /// needs the header only, leaves the decode (~50 ms of protobuf-net start-up) to the Sentry.
    /// </summary>
    public static ImageReader ReadFile(string path, byte[]? key = null, bool decodeGraph = true) =>
        ReadFile(path, key, decodeGraph, verifyPages: true);

    /// <summary>
    /// As <see cref="ReadFile(string, byte[], bool)"/>; <paramref name="verifyPages"/> false leaves
    /// the page chunks to <see cref="VerifyPages"/> (everything else, HMAC included, is checked).
    /// </summary>
    public static ImageReader ReadFile(string path, byte[]? key, bool decodeGraph, bool verifyPages)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            ImageSignature.Verify(f, key, path);
            var r = ReadChecked(f, path, verifyPages, decodeGraph);
            return new ImageReader(null, path, r._layout, r.Header, r.Graph);
        }
        catch (EndOfStreamException)
        {
            throw ImageLayout.Damaged(path, "it ends early (truncated)");
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
    /// Checks every page chunk of the image file <paramref name="path"/> against the digest table
    /// this reader verified (<see cref="ReadFile(string, byte[], bool, bool)"/> with verifyPages
    /// false), on up to four threads; a <see cref="CheckpointImageException"/> when one does not match.
    /// </summary>
    public void VerifyPages(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            if (f.Length < _layout.PageOffset(0) + _layout.PageCount * CheckpointImage.PageSize)
                throw ImageLayout.Damaged(path, "it ends early (truncated)");
            VerifyAllChunks(f.SafeFileHandle, _layout, path);
        }
        catch (EndOfStreamException)
        {
            throw ImageLayout.Damaged(path, "it ends early (truncated)");
        }
        catch (FileNotFoundException)
        {
            throw new CheckpointImageException($"checkpoint image {path} does not exist");
        }
    }

    /// <summary>
    /// Reads and verifies an image from <paramref name="input"/> (a seekable stream, which the
    /// reader keeps for <see cref="ReadPages"/>: the caller keeps it open while it uses pages);
    /// <paramref name="name"/> names it in errors. A signature block is skipped, not checked: the
    /// runtime, which holds the key, checked it (<see cref="ReadFile"/>) before handing the image
    /// to the Sentry. <paramref name="verifyPages"/> false: page chunks are checked only when
    /// they are read (the Sentry's restore, after the runtime checked them all).
    /// </summary>
    public static ImageReader Read(Stream input, string name, bool verifyPages = true, string? expectedImageDigest = null)
    {
        try
        {
            return ReadChecked(input, name, verifyPages, decodeGraph: true, expectedImageDigest);
        }
        catch (EndOfStreamException)
        {
            throw ImageLayout.Damaged(name, "it ends early (truncated)");
        }
    }

    /// <summary>The image's SHA-256 (its hash tree's root) as computed from its bytes, hex.</summary>
    public string ImageDigestHex => Convert.ToHexString(_layout.ImageDigest);

    private static ImageReader ReadChecked(Stream input, string name, bool verifyPages, bool decodeGraph, string? expectedImageDigest = null)
    {
        long length = ImageSignature.UnsignedLength(input);
        // A file is read with pread from here on (thread-safe, no shared position).
        object source = input is FileStream fs ? fs.SafeFileHandle : input;
        var (_, headerBytes) = ImageLayout.ReadHead(input, length, name);
        ImageHeader header;
        try
        {
            header = JsonSerializer.Deserialize(headerBytes, ImageHeaderJsonContext.Default.ImageHeader)
                ?? throw ImageLayout.Damaged(name, "its header is empty");
        }
        catch (JsonException)
        {
            throw ImageLayout.Damaged(name, "its header is not valid JSON");
        }
        // The version is checked before the checksum so a newer (or older) image gets its own
        // message; nothing else of the header is believed until the checksum matches.
        if (header.FormatVersion != CheckpointImage.FormatVersion)
            throw new CheckpointImageException(
                $"checkpoint image {name} has format version {header.FormatVersion} (written by runsc-net {Clip(header.RunscNetVersion)}); this runsc-net reads version {CheckpointImage.FormatVersion}");

        var layout = ImageLayout.ReadTail(input, length, name);
        if (!layout.HasTrailerMarker || !layout.ImageDigest.AsSpan().SequenceEqual(layout.StoredImageDigest))
            throw ImageLayout.Damaged(name, "its SHA-256 does not match (truncated or altered)");
        // The Sentry's read: the image must be the one the runtime verified (HMAC included).
        if (expectedImageDigest != null && !string.Equals(Convert.ToHexString(layout.ImageDigest), expectedImageDigest, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointImageException($"checkpoint image {name} is not the one the runtime verified (changed or replaced since)");

        var stored = new byte[layout.GraphStoredLength];
        ReadAt(source, layout.GraphOffset, stored, name);
        var digest = new byte[Sha256.HashSize];
        Sha256.HashData(stored, digest);
        if (!digest.AsSpan().SequenceEqual(layout.GraphDigest)) throw ImageLayout.Damaged(name, "its object graph's SHA-256 does not match");
        byte[] graphBytes = Inflate(stored, layout.GraphRawLength, name);

        if (verifyPages) VerifyAllChunks(source, layout, name);

        if (!decodeGraph) return new ImageReader(source, name, layout, header, new SandboxImage());
        SandboxImage g;
        try
        {
            g = Serializer.Deserialize<SandboxImage>(new MemoryStream(graphBytes));
        }
        catch (Exception e) when (e is ProtoException or InvalidOperationException or EndOfStreamException or OverflowException or ArgumentException)
        {
            throw ImageLayout.Damaged(name, $"its object graph cannot be decoded ({e.GetType().Name})");
        }
        return new ImageReader(source, name, layout, header, g);
    }

    /// <summary>Checks every page chunk's SHA-256; a file is read with pread on up to four threads.</summary>
    private static void VerifyAllChunks(object input, ImageLayout layout, string name)
    {
        long chunks = layout.ChunkCount;
        if (chunks == 0) return;
        if (input is Microsoft.Win32.SafeHandles.SafeFileHandle && chunks > 1)
        {
            int threads = Math.Clamp(Environment.ProcessorCount, 1, 4);
            long next = -1;
            Exception? failure = null;
            var workers = new Thread[Math.Min(threads, (int)Math.Min(chunks, int.MaxValue))];
            for (int w = 0; w < workers.Length; w++)
            {
                workers[w] = new Thread(() =>
                {
                    var buffer = new byte[CheckpointImage.ChunkSize];
                    try
                    {
                        for (long c = Interlocked.Increment(ref next); c < chunks && Volatile.Read(ref failure) == null; c = Interlocked.Increment(ref next))
                            LoadChunk(input, layout, name, c, buffer);
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref failure, e, null);
                    }
                }) { IsBackground = true, Name = "image-verify" };
                workers[w].Start();
            }
            foreach (var t in workers) t.Join();
            if (failure is CheckpointImageException or EndOfStreamException) throw failure is EndOfStreamException ? ImageLayout.Damaged(name, "it ends early (truncated)") : failure;
            if (failure != null) throw new IOException($"checkpoint image {name}: {failure.Message}", failure);
            return;
        }
        var one = new byte[CheckpointImage.ChunkSize];
        for (long c = 0; c < chunks; c++) LoadChunk(input, layout, name, c, one);
    }

    /// <summary>Reads page chunk <paramref name="chunk"/> into <paramref name="buffer"/> and checks its SHA-256.</summary>
    private static void LoadChunk(object input, ImageLayout layout, string name, long chunk, byte[] buffer)
    {
        int bytes = layout.PagesInChunk(chunk) * CheckpointImage.PageSize;
        var data = buffer.AsSpan(0, bytes);
        ReadAt(input, layout.PageOffset(chunk * CheckpointImage.PagesPerChunk), data, name);
        Span<byte> digest = stackalloc byte[Sha256.HashSize];
        Sha256.HashData(data, digest);
        if (!digest.SequenceEqual(layout.ChunkDigests.AsSpan((int)(chunk * Sha256.HashSize), Sha256.HashSize)))
            throw ImageLayout.Damaged(name, $"page chunk {chunk}'s SHA-256 does not match");
    }

    /// <summary>Reads exactly <c>destination.Length</c> bytes at <paramref name="offset"/>: pread for a file (any thread), else under the stream's lock.</summary>
    private static void ReadAt(object input, long offset, Span<byte> destination, string name)
    {
        if (input is Microsoft.Win32.SafeHandles.SafeFileHandle handle)
        {
            int got = 0;
            while (got < destination.Length)
            {
                int n = RandomAccess.Read(handle, destination[got..], offset + got);
                if (n <= 0) throw ImageLayout.Damaged(name, "it ends early (truncated)");
                got += n;
            }
            return;
        }
        var stream = (Stream)input;
        lock (stream)
        {
            if (offset + destination.Length > stream.Length) throw ImageLayout.Damaged(name, "it ends early (truncated)");
            stream.Position = offset;
            stream.ReadExactly(destination);
        }
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
            if (got != raw || inflate.ReadByte() != -1) throw ImageLayout.Damaged(name, "its object graph does not inflate to its recorded size");
        }
        catch (InvalidDataException)
        {
            throw ImageLayout.Damaged(name, "its object graph cannot be inflated");
        }
        return data;
    }

    private static string Clip(string s) => s.Length > 32 ? s[..32] + "..." : s;
}
