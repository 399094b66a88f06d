using System.Text;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// The optional HMAC-SHA256 of a checkpoint image (<c>--image-key FILE</c> at both ends). The
/// runtime signs the finished image, never the Sentry (a compromised sandbox must not learn the
/// key), by appending a signature block after the SHA-256 trailer:
/// <code>
/// "RSNHMAC1"   8 bytes
/// HMAC-SHA256  32 bytes, keyed with the key file's bytes, over every byte before the block
/// </code>
/// The block is unambiguous: in an unsigned image the byte 33 from the end is the trailer's 0xFF,
/// where a signed one has the marker's '1'. HMAC is computed with our own <see cref="Sha256"/>
/// (RFC 2104), as the Sentry side links no OpenSSL.
/// </summary>
public static class ImageSignature
{
    /// <summary>Bytes the signature block adds.</summary>
    public const int BlockSize = 8 + Sha256.HashSize;

    /// <summary>The largest key file accepted.</summary>
    public const int MaxKeySize = 4096;

    private static ReadOnlySpan<byte> Marker => "RSNHMAC1"u8;

    /// <summary>Reads a key file: one line errors for a missing, empty or oversized file.</summary>
    public static byte[] ReadKey(string path)
    {
        byte[] key;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new CheckpointImageException($"--image-key {path}: the key file does not exist");
            if (info.Length > MaxKeySize) throw new CheckpointImageException($"--image-key {path}: the key file is larger than {MaxKeySize} bytes");
            key = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointImageException($"--image-key {path}: {e.Message}");
        }
        if (key.Length == 0) throw new CheckpointImageException($"--image-key {path}: the key file is empty");
        return key;
    }

    /// <summary>Whether the image in <paramref name="input"/> (seekable) ends with a signature block.</summary>
    public static bool IsSigned(Stream input)
    {
        if (input.Length < BlockSize + 33) return false;
        var marker = new byte[8];
        input.Position = input.Length - BlockSize;
        input.ReadExactly(marker);
        return marker.AsSpan().SequenceEqual(Marker);
    }

    /// <summary>HMAC-SHA256 with <paramref name="key"/> over the first <paramref name="length"/> bytes of <paramref name="input"/>.</summary>
    public static byte[] Compute(byte[] key, Stream input, long length)
    {
        const int blockSize = 64;
        var k = new byte[blockSize];
        if (key.Length > blockSize) Sha256.HashData(key, k.AsSpan(0, Sha256.HashSize));
        else key.CopyTo(k, 0);
        var pad = new byte[blockSize];
        for (int i = 0; i < blockSize; i++) pad[i] = (byte)(k[i] ^ 0x36);
        var inner = new Sha256();
        inner.Append(pad);
        input.Position = 0;
        var buffer = new byte[1 << 16];
        long left = length;
        while (left > 0)
        {
            int n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n <= 0) throw new EndOfStreamException();
            inner.Append(buffer.AsSpan(0, n));
            left -= n;
        }
        var innerDigest = new byte[Sha256.HashSize];
        inner.Finish(innerDigest);
        for (int i = 0; i < blockSize; i++) pad[i] = (byte)(k[i] ^ 0x5c);
        var outer = new Sha256();
        outer.Append(pad);
        outer.Append(innerDigest);
        var mac = new byte[Sha256.HashSize];
        outer.Finish(mac);
        return mac;
    }

    /// <summary>Appends the signature block to the finished image in <paramref name="file"/> (read-write, seekable).</summary>
    public static void Sign(Stream file, byte[] key)
    {
        long length = file.Length;
        byte[] mac = Compute(key, file, length);
        file.Position = length;
        file.Write(Marker);
        file.Write(mac);
        file.Flush();
    }

    /// <summary>
    /// Checks the image's signature against <paramref name="key"/> (null: no --image-key given),
    /// throwing a one-line <see cref="CheckpointImageException"/>: a signed image needs the key,
    /// a key needs a signed image, and the HMAC must match.
    /// </summary>
    public static void Verify(Stream input, byte[]? key, string name)
    {
        bool signed = IsSigned(input);
        if (key == null)
        {
            if (signed) throw new CheckpointImageException($"checkpoint image {name} is signed (HMAC-SHA256): restore it with --image-key");
            return;
        }
        if (!signed) throw new CheckpointImageException($"checkpoint image {name} carries no HMAC, but --image-key was given (unsigned, or its signature was cut off)");
        long length = input.Length - BlockSize;
        byte[] mac = Compute(key, input, length);
        var saved = new byte[Sha256.HashSize];
        input.Position = length + 8;
        input.ReadExactly(saved);
        int diff = 0;
        for (int i = 0; i < mac.Length; i++) diff |= mac[i] ^ saved[i];
        if (diff != 0) throw new CheckpointImageException($"checkpoint image {name}: its HMAC-SHA256 does not match --image-key (wrong key, or the image was altered)");
    }

    /// <summary>The image's length without its signature block, if any.</summary>
    public static long UnsignedLength(Stream input) => IsSigned(input) ? input.Length - BlockSize : input.Length;

    /// <summary>For tests and messages: the marker as text.</summary>
    public static string MarkerText => Encoding.ASCII.GetString(Marker);
}
