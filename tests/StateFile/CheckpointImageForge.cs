using System.Buffers.Binary;
using System.Text;
using RunscNet.StateFile.Checkpoint;

namespace RunscNet.Tests.StateFile;

/// <summary>Hand-made variants of a real (unsigned) checkpoint image, well-formed but for what a test changes.</summary>
public static class CheckpointImageForge
{
    /// <summary>Recomputes the image's SHA-256 in its trailer (after a test edited covered bytes).</summary>
    public static byte[] Reseal(byte[] image)
    {
        var layout = ImageLayout.ReadTail(new MemoryStream(image), image.Length, "forge");
        layout.ImageDigest.CopyTo(image, image.Length - Sha256.HashSize);
        return image;
    }

    /// <summary>The image with its JSON header passed through <paramref name="edit"/>, re-padded and resealed.</summary>
    public static byte[] WithHeader(byte[] image, Func<string, string> edit)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(8));
        byte[] json = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(image, 12, headerLength)));
        int oldPages = Align(12 + headerLength), newPages = Align(12 + json.Length);
        var forged = new byte[newPages + image.Length - oldPages];
        image.AsSpan(0, 8).CopyTo(forged);
        BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(8), (uint)json.Length);
        json.CopyTo(forged, 12);
        image.AsSpan(oldPages).CopyTo(forged.AsSpan(newPages));
        return Reseal(forged);
    }

    /// <summary>
    /// The image written again with its object graph passed through <paramref name="edit"/>:
    /// same header and pages, every digest recomputed (a hand-made image a hostile user could
    /// write: well-formed, with values only the graph's users can refuse).
    /// </summary>
    public static byte[] WithGraph(byte[] image, Action<SandboxImage> edit)
    {
        var reader = ImageReader.Read(new MemoryStream(image), "forge");
        edit(reader.Graph);
        var output = new MemoryStream();
        var writer = new ImageWriter(output, reader.Header);
        for (long i = 0; i < reader.PageCount; i++) writer.AddPage(reader.Page(i));
        writer.Finish(reader.Graph);
        return output.ToArray();
    }

    private static int Align(int n) => (n + CheckpointImage.PageSize - 1) & ~(CheckpointImage.PageSize - 1);
}
