using System.Buffers.Binary;
using System.Numerics;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// SHA-256 (FIPS 180-4). <see cref="HashData"/>, which hashes image chunks, uses OpenSSL through
/// System.Security.Cryptography (SHA-NI where the CPU has it: about 1.6 GB/s here, ten times
/// this managed code) once <see cref="LoadNative"/> found it usable. The Sentry writes and reads
/// images after it left the host's file tree, where OpenSSL can no longer be loaded (.NET aborts
/// the process then), so boot calls <see cref="LoadNative"/> before it gives up the host's tree;
/// without OpenSSL the managed code below is used (same digests, slower).
/// </summary>
public sealed class Sha256
{
    /// <summary>Digest size in bytes.</summary>
    public const int HashSize = 32;

    private static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _h = new uint[8];
    private readonly uint[] _w = new uint[64];
    private readonly byte[] _block = new byte[64];
    private int _blockUsed;
    private ulong _length;

    /// <summary>A fresh hash.</summary>
    public Sha256() => Reset();

    private void Reset()
    {
        _h[0] = 0x6a09e667; _h[1] = 0xbb67ae85; _h[2] = 0x3c6ef372; _h[3] = 0xa54ff53a;
        _h[4] = 0x510e527f; _h[5] = 0x9b05688c; _h[6] = 0x1f83d9ab; _h[7] = 0x5be0cd19;
        _blockUsed = 0;
        _length = 0;
    }

    /// <summary>0: not tried yet, 1: OpenSSL's SHA-256 works, -1: managed code only.</summary>
    private static int s_native;

    /// <summary>
    /// Loads OpenSSL's SHA-256 if it can be (idempotent); true when <see cref="HashData"/> uses
    /// it. Call it while the host's libraries are still reachable (boot: before the empty root).
    /// </summary>
    public static bool LoadNative()
    {
        if (s_native != 0) return s_native > 0;
        try
        {
            Span<byte> probe = stackalloc byte[HashSize];
            System.Security.Cryptography.SHA256.HashData("abc"u8, probe);
            // FIPS 180-4's example: the library really computes SHA-256.
            s_native = probe[0] == 0xba && probe[31] == 0xad ? 1 : -1;
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or PlatformNotSupportedException
            or DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            s_native = -1;
        }
        return s_native > 0;
    }

    /// <summary>Whether <see cref="HashData"/> uses OpenSSL (after <see cref="LoadNative"/>).</summary>
    public static bool IsNative => s_native > 0;

    /// <summary>
    /// The digest of <paramref name="data"/> into <paramref name="digest"/> (32 bytes): OpenSSL's
    /// when <see cref="LoadNative"/> succeeded (tried here on first use if nobody did), else managed.
    /// </summary>
    public static void HashData(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        if (s_native == 0) LoadNative();
        if (s_native > 0)
        {
            System.Security.Cryptography.SHA256.HashData(data, digest);
            return;
        }
        var h = new Sha256();
        h.Append(data);
        h.Finish(digest);
    }

    /// <summary>Adds <paramref name="data"/>.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        _length += (ulong)data.Length;
        if (_blockUsed > 0)
        {
            int n = Math.Min(64 - _blockUsed, data.Length);
            data[..n].CopyTo(_block.AsSpan(_blockUsed));
            _blockUsed += n;
            data = data[n..];
            if (_blockUsed < 64) return;
            Compress(_block);
            _blockUsed = 0;
        }
        while (data.Length >= 64)
        {
            Compress(data[..64]);
            data = data[64..];
        }
        data.CopyTo(_block);
        _blockUsed = data.Length;
    }

    /// <summary>Writes the digest into <paramref name="digest"/> and starts over.</summary>
    public void Finish(Span<byte> digest)
    {
        ulong bits = _length * 8;
        Span<byte> pad = stackalloc byte[72];
        pad.Clear();
        pad[0] = 0x80;
        int padLength = (_blockUsed < 56 ? 56 : 120) - _blockUsed;
        BinaryPrimitives.WriteUInt64BigEndian(pad[padLength..], bits);
        Append(pad[..(padLength + 8)]);
        for (int i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest[(i * 4)..], _h[i]);
        Reset();
    }

    private void Compress(ReadOnlySpan<byte> block)
    {
        var w = _w;
        for (int i = 0; i < 16; i++) w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]);
        for (int i = 16; i < 64; i++)
        {
            uint s0 = BitOperations.RotateRight(w[i - 15], 7) ^ BitOperations.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint s1 = BitOperations.RotateRight(w[i - 2], 17) ^ BitOperations.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint a = _h[0], b = _h[1], c = _h[2], d = _h[3], e = _h[4], f = _h[5], g = _h[6], h = _h[7];
        for (int i = 0; i < 64; i++)
        {
            uint S1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
            uint ch = (e & f) ^ (~e & g);
            uint t1 = h + S1 + ch + K[i] + w[i];
            uint S0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
            uint maj = (a & b) ^ (a & c) ^ (b & c);
            uint t2 = S0 + maj;
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        _h[0] += a; _h[1] += b; _h[2] += c; _h[3] += d; _h[4] += e; _h[5] += f; _h[6] += g; _h[7] += h;
    }
}
