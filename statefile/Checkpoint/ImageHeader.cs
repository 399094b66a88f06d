using System.Text.Json.Serialization;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// The metadata at the start of a checkpoint image (JSON, so `head -c` shows what an image is).
/// Read before the checksum is verified only to refuse a foreign format version with its own message.
/// </summary>
public sealed class ImageHeader
{
    /// <summary>The image layout's version; see <see cref="CheckpointImage.FormatVersion"/>.</summary>
    [JsonPropertyName("formatVersion")] public int FormatVersion { get; set; }

    /// <summary>The runsc-net version that wrote the image.</summary>
    [JsonPropertyName("runscNetVersion")] public string RunscNetVersion { get; set; } = "";

    /// <summary>When the image was written.</summary>
    [JsonPropertyName("created")] public DateTimeOffset Created { get; set; }

    /// <summary>The container that was checkpointed.</summary>
    [JsonPropertyName("containerId")] public string ContainerId { get; set; } = "";

    /// <summary>Its sandbox.</summary>
    [JsonPropertyName("sandboxId")] public string SandboxId { get; set; } = "";

    /// <summary>The platform the application ran on (systrap, ptrace).</summary>
    [JsonPropertyName("platform")] public string Platform { get; set; } = "";

    /// <summary>The CPU architecture (x86_64).</summary>
    [JsonPropertyName("arch")] public string Arch { get; set; } = "x86_64";

    /// <summary>The CPU features the application saw (/proc/cpuinfo flags, space-separated).</summary>
    [JsonPropertyName("cpuFeatures")] public string CpuFeatures { get; set; } = "";

    /// <summary>How the parts are compressed (format 3: "none (pages), deflate (graph)").</summary>
    [JsonPropertyName("compression")] public string Compression { get; set; } = "deflate";
}

/// <summary>Source-generated JSON for <see cref="ImageHeader"/> (NativeAOT).</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ImageHeader))]
internal sealed partial class ImageHeaderJsonContext : JsonSerializerContext
{
}
