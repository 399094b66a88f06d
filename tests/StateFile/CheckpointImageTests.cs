using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using RunscNet.StateFile.Checkpoint;
using Xunit;

namespace RunscNet.Tests.StateFile;

/// <summary>The checkpoint image format: a round trip, and every kind of damage refused before the graph is used.</summary>
public sealed class CheckpointImageTests
{
    internal static byte[] Sample(out byte[] page, string containerId = "c1")
    {
        page = new byte[CheckpointImage.PageSize];
        for (int i = 0; i < page.Length; i++) page[i] = (byte)(i * 7);
        var ms = new MemoryStream();
        var w = new ImageWriter(ms, new ImageHeader { ContainerId = containerId, SandboxId = containerId, Platform = "systrap", RunscNetVersion = "test", Created = DateTimeOffset.UnixEpoch });
        for (int i = 0; i < 300; i++) w.AddPage(page);   // more than one page chunk
        var graph = new SandboxImage { LastPid = 9 };
        graph.Processes.Add(new ProcessImage { Pid = 1, Cwd = "/tmp", Memory = new AddressSpaceImage { Vmas = { new VmaImage { Start = 0x1000, End = 0x2000, FirstPage = 299 } } } });
        w.Finish(graph);
        return ms.ToArray();
    }

    internal static ImageReader Read(byte[] image) => ImageReader.Read(new MemoryStream(image), "img");

    [Fact]
    public void ManagedSha256MatchesTheLibrary()
    {
        var data = new byte[1000];
        new Random(5).NextBytes(data);
        foreach (int n in new[] { 0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000 })
        {
            var mine = new byte[32];
            Sha256.HashData(data.AsSpan(0, n), mine);
            Assert.Equal(SHA256.HashData(data.AsSpan(0, n)), mine);
            // Appended in pieces: the same digest.
            var h = new Sha256();
            for (int at = 0; at < n; at += 7) h.Append(data.AsSpan(at, Math.Min(7, n - at)));
            var pieces = new byte[32];
            h.Finish(pieces);
            Assert.Equal(mine, pieces);
        }
    }

    [Fact]
    public void CpuFeaturesMissingOnTheHostAreNamed()
    {
        Assert.Equal(["avx512f"], CpuFeatures.Missing("avx2 avx512f sse2", "sse2 avx2"));
        Assert.Empty(CpuFeatures.Missing("", "sse2"));     // an image that recorded none
        Assert.Empty(CpuFeatures.Missing("sse2", ""));     // a host that cannot tell
        Assert.Contains("sse2", CpuFeatures.Host());        // x86-64 always has it
    }

    [Fact]
    public void RoundTrip()
    {
        var r = Read(Sample(out var page));
        Assert.Equal(CheckpointImage.FormatVersion, r.Header.FormatVersion);
        Assert.Equal("c1", r.Header.ContainerId);
        Assert.Equal(9, r.Graph.LastPid);
        Assert.Equal("/tmp", r.Graph.Processes[0].Cwd);
        Assert.Equal(300, r.PageCount);
        Assert.True(r.Page(299).SequenceEqual(page));
        Assert.Throws<CheckpointImageException>(() => r.Page(300).Length);
        // Pages are stored as they are, page-aligned: page 0 at the first multiple of 4096 after the header.
        byte[] bytes = Sample(out _);
        int headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        int pageData = (12 + headerLength + 4095) & ~4095;
        Assert.True(bytes.AsSpan(pageData, CheckpointImage.PageSize).SequenceEqual(page));
        // Runs of pages across a chunk boundary come in chunk-sized pieces, in order.
        var runs = new List<(long First, int Pages)>();
        r.ReadPages(250, 50, (first, data) =>
        {
            runs.Add((first, data.Length / CheckpointImage.PageSize));
            Assert.True(data[..CheckpointImage.PageSize].SequenceEqual(page));
        });
        Assert.Equal([(250L, 6), (256L, 44)], runs);
        Assert.Throws<CheckpointImageException>(() => r.ReadPages(299, 2, (_, _) => { }));
        // The Sentry's read before a restore: page chunks checked when read, not before.
        var deferred = ImageReader.Read(new MemoryStream(Sample(out _)), "img", verifyPages: false);
        Assert.Equal(300, deferred.PageCount);
        Assert.Equal(9, deferred.Graph.LastPid);
    }

    [Fact]
    public void AnAlteredPageIsRefusedWhenReadEvenIfNotCheckedUpFront()
    {
        byte[] image = Sample(out _);
        int headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(8));
        int pageData = (12 + headerLength + 4095) & ~4095;
        image[pageData + 257 * CheckpointImage.PageSize + 5] ^= 1;   // page 257: chunk 1
        Assert.Contains("SHA-256 does not match", Assert.Throws<CheckpointImageException>(() => Read(image)).Message);
        var deferred = ImageReader.Read(new MemoryStream(image), "img", verifyPages: false);
        deferred.ReadPages(0, 256, (_, _) => { });   // chunk 0 is intact
        Assert.Contains("page chunk 1's SHA-256 does not match", Assert.Throws<CheckpointImageException>(() => deferred.Page(300 - 1).Length).Message);
    }

    [Fact]
    public void SizesThatDoNotAddUpAreRefused()
    {
        byte[] image = Sample(out _);
        // The footer's page count, one more (and resealed, so only the sizes are wrong).
        int footer = image.Length - 33 - 48;
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(footer), 301);
        Assert.Throws<CheckpointImageException>(() => CheckpointImageForge.Reseal(image));
        Assert.Contains("do not add up", Assert.Throws<CheckpointImageException>(() => Read(image)).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(footer), ulong.MaxValue);
        Assert.Contains("sizes are invalid", Assert.Throws<CheckpointImageException>(() => Read(image)).Message);
    }

    [Fact]
    public void EveryFlippedByteIsRefused()
    {
        byte[] image = Sample(out _);
        int headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(8));
        int pageData = (12 + headerLength + 4095) & ~4095, graph = pageData + 300 * CheckpointImage.PageSize;
        // Every 97th byte (every 1021st of the page data), and the last ones (trailer and its hash).
        for (int i = 0; i < image.Length; i += i > image.Length - 40 ? 1 : i >= pageData && i < graph ? 1021 : 97)
        {
            byte[] altered = (byte[])image.Clone();
            altered[i] ^= 0x40;
            var e = Assert.Throws<CheckpointImageException>(() => Read(altered));
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void TruncatedIsRefused()
    {
        byte[] image = Sample(out _);
        foreach (int keep in new[] { 0, 5, 20, image.Length / 2, image.Length - 1 })
        {
            var e = Assert.Throws<CheckpointImageException>(() => Read(image[..keep]));
            Assert.Contains("img", e.Message);
        }
    }

    [Fact]
    public void ForeignFileIsRefused()
    {
        var e = Assert.Throws<CheckpointImageException>(() => Read(Encoding.ASCII.GetBytes("this is some other file, long enough to pass the size check........")));
        Assert.Contains("not a runsc-net checkpoint image", e.Message);
    }

    [Fact]
    public void OtherVersionIsRefusedByName()
    {
        byte[] image = Sample(out _);
        // Rewrite the header with version 7 and fix the image's hash: a well-formed image of another format.
        image = CheckpointImageForge.WithHeader(image, json => json.Replace($"\"formatVersion\":{RunscNet.StateFile.Checkpoint.CheckpointImage.FormatVersion}", "\"formatVersion\":7"));
        var e = Assert.Throws<CheckpointImageException>(() => Read(image));
        Assert.Contains("format version 7", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(200)]   // longer than SHA-256's block: hashed first, as RFC 2104 says
    public void HmacMatchesTheLibrary(int keyLength)
    {
        var key = new byte[keyLength];
        for (int i = 0; i < key.Length; i++) key[i] = (byte)(i * 13 + 1);
        byte[] data = Sample(out _);
        Assert.Equal(HMACSHA256.HashData(key, data), ImageSignature.Compute(key, new MemoryStream(data), data.Length));
    }

    [Fact]
    public void SignedImageNeedsTheRightKeyAndAKeyNeedsASignedImage()
    {
        byte[] key = Encoding.ASCII.GetBytes("the right key"), wrong = Encoding.ASCII.GetBytes("the wrong key");
        var signed = new MemoryStream();
        signed.Write(Sample(out _));
        ImageSignature.Sign(signed, key);
        byte[] bytes = signed.ToArray();
        string dir = Directory.CreateTempSubdirectory("runsc-net-imgkey-").FullName;
        try
        {
            string signedPath = Path.Combine(dir, "signed.img"), plainPath = Path.Combine(dir, "plain.img");
            File.WriteAllBytes(signedPath, bytes);
            File.WriteAllBytes(plainPath, Sample(out _));
            Assert.Equal("c1", ImageReader.ReadFile(signedPath, key).Header.ContainerId);
            Assert.Contains("does not match --image-key", Assert.Throws<CheckpointImageException>(() => ImageReader.ReadFile(signedPath, wrong)).Message);
            Assert.Contains("restore it with --image-key", Assert.Throws<CheckpointImageException>(() => ImageReader.ReadFile(signedPath)).Message);
            Assert.Contains("carries no HMAC", Assert.Throws<CheckpointImageException>(() => ImageReader.ReadFile(plainPath, key)).Message);
            // A byte of the header changed: the HMAC no longer matches, whatever else changed with it.
            bytes[100] ^= 1;
            File.WriteAllBytes(signedPath, bytes);
            Assert.Contains("does not match --image-key", Assert.Throws<CheckpointImageException>(() => ImageReader.ReadFile(signedPath, key)).Message);
            // A byte of a page changed: its chunk's SHA-256 (which the HMAC covers) no longer matches.
            bytes[100] ^= 1;
            bytes[5000] ^= 1;
            File.WriteAllBytes(signedPath, bytes);
            Assert.Contains("SHA-256 does not match", Assert.Throws<CheckpointImageException>(() => ImageReader.ReadFile(signedPath, key)).Message);
            bytes[5000] ^= 1;
            // The Sentry's read skips the block (the runtime checked it).
            Assert.Equal(9, ImageReader.Read(new MemoryStream(signed.ToArray()), "img").Graph.LastPid);
            File.WriteAllBytes(Path.Combine(dir, "empty.key"), []);
            Assert.Contains("is empty", Assert.Throws<CheckpointImageException>(() => ImageSignature.ReadKey(Path.Combine(dir, "empty.key"))).Message);
            Assert.Contains("does not exist", Assert.Throws<CheckpointImageException>(() => ImageSignature.ReadKey(Path.Combine(dir, "none.key"))).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
