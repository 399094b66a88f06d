using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace RunscNet.StateFile.Oci;

/// <summary>
/// Reads and writes a spec as JSON. create hands the validated spec to boot and gofer through an
/// inherited fd (a memfd holding the JSON at offset 0), so they never re-read a bundle that may
/// have changed.
/// </summary>
public static class SpecFile
{
    /// <summary>The spec's JSON bytes.</summary>
    public static byte[] Serialize(Spec spec) => JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.Spec);

    /// <summary>Parses spec JSON; throws <see cref="JsonException"/> if malformed.</summary>
    public static Spec Deserialize(ReadOnlySpan<byte> json)
        => JsonSerializer.Deserialize(json, OciJsonContext.Default.Spec) ?? throw new JsonException("spec is null");

    /// <summary>Reads the spec from the start of file descriptor <paramref name="fd"/> (which stays open).</summary>
    public static Spec ReadFromFd(int fd)
    {
        using var handle = new SafeFileHandle(fd, ownsHandle: false);
        long length = RandomAccess.GetLength(handle);
        byte[] buffer = new byte[length];
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(done), done);
            if (n == 0) break;
            done += n;
        }
        return Deserialize(buffer.AsSpan(0, done));
    }
}
