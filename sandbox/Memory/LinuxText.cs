using System.Buffers;
using System.Text;

namespace RunscNet.Sentry.Memory;

/// <summary>
/// Linux names, paths, arguments and environment strings are bytes, not text: a file name may be
/// any bytes but '/' and NUL. The Sentry keeps them as .NET strings with a lossless mapping: valid
/// UTF-8 decodes as usual, and every byte that is not part of a valid UTF-8 sequence becomes the
/// lone surrogate U+DC00+byte (0x80..0xFF: U+DC80..U+DCFF, Python's "surrogateescape"), which
/// <see cref="Encode"/> turns back into that byte. Strings that came in as bytes go out as the
/// same bytes (getdents, readlink, the new process's argv/envp, socket addresses...).
/// </summary>
internal static class LinuxText
{
    private const char EscapeBase = '\uDC00';

    /// <summary>The string for <paramref name="bytes"/> (never loses a byte).</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        var sb = new StringBuilder(bytes.Length);
        Span<char> pair = stackalloc char[2];
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out int used) == OperationStatus.Done)
            {
                int n = rune.EncodeToUtf16(pair);
                sb.Append(pair[..n]);
                bytes = bytes[used..];
            }
            else
            {
                sb.Append((char)(EscapeBase + bytes[0]));
                bytes = bytes[1..];
            }
        }
        return sb.ToString();
    }

    /// <summary>The bytes <paramref name="s"/> stands for (escaped bytes back as themselves).</summary>
    public static byte[] Encode(string s)
    {
        if (!HasEscapes(s)) return Encoding.UTF8.GetBytes(s);
        var buf = new ArrayBufferWriter<byte>(s.Length + 8);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int n = new Rune(c, s[i + 1]).EncodeToUtf8(utf8);
                buf.Write(utf8[..n]);
                i++;
            }
            else if (c >= '\uDC80' && c <= '\uDCFF')
            {
                buf.Write([(byte)(c - EscapeBase)]);
            }
            else
            {
                int n = Encoding.UTF8.GetBytes([c], utf8);
                buf.Write(utf8[..n]);
            }
        }
        return buf.WrittenSpan.ToArray();
    }

    /// <summary>The number of bytes <see cref="Encode"/> gives.</summary>
    public static int ByteCount(string s) => HasEscapes(s) ? Encode(s).Length : Encoding.UTF8.GetByteCount(s);

    private static bool HasEscapes(string s)
    {
        foreach (char c in s)
            if (c >= '\uDC80' && c <= '\uDCFF') return true;
        return false;
    }
}
