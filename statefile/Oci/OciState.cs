using System.Text.Json.Serialization;

namespace RunscNet.StateFile.Oci;

/// <summary>
/// The state of a container as the OCI runtime spec defines it, printed by <c>state</c> and given
/// to hooks on stdin. podman and containerd parse <c>status</c> and <c>pid</c>.
/// </summary>
public sealed class OciState
{
    /// <summary>The runtime-spec version the state follows.</summary>
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = "1.0.2";

    /// <summary>The container ID.</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";

    /// <summary>creating, created, running, paused or stopped.</summary>
    [JsonPropertyName("status")] public string Status { get; set; } = "";

    /// <summary>The container process's host pid (0 when stopped).</summary>
    [JsonPropertyName("pid")] public int Pid { get; set; }

    /// <summary>Absolute path of the bundle.</summary>
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";

    /// <summary>The spec's annotations (an empty object when there are none).</summary>
    [JsonPropertyName("annotations")] public Dictionary<string, string> Annotations { get; set; } = new();

    /// <summary>The container's root file system (runc prints it too).</summary>
    [JsonPropertyName("rootfs")] public string? Rootfs { get; set; }

    /// <summary>Creation time, RFC 3339 (runc prints it too).</summary>
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; set; }

    /// <summary>Owner of the container (runc prints it too).</summary>
    [JsonPropertyName("owner")] public string? Owner { get; set; }
}

/// <summary>Source-generated JSON metadata for <see cref="OciState"/> and listings of it.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OciState))]
[JsonSerializable(typeof(List<OciState>))]
public sealed partial class OciStateJsonContext : JsonSerializerContext
{
}
