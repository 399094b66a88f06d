using System.Text.Json.Serialization;
using RunscNet.StateFile.Oci;

namespace RunscNet.StateFile;

/// <summary>
/// What runsc-net records about one container between its commands (the body of the
/// <c>.state</c> file). Our own format, not the OCI state (see <see cref="Oci.OciState"/> for that).
/// </summary>
public sealed class ContainerState
{
    /// <summary>Version of this record's layout.</summary>
    [JsonPropertyName("version")] public int Version { get; set; } = 1;

    /// <summary>The container ID.</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";

    /// <summary>The sandbox the container runs in (equal to <see cref="Id"/> for a sandbox's root container).</summary>
    [JsonPropertyName("sandboxId")] public string SandboxId { get; set; } = "";

    /// <summary>Absolute path of the bundle directory.</summary>
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";

    /// <summary>The last status the runtime recorded (a dead sandbox reads as stopped whatever this says).</summary>
    [JsonPropertyName("status")] public ContainerStatus Status { get; set; } = ContainerStatus.Creating;

    /// <summary>Host pid of the sandbox (boot) process: the container pid of <c>state</c> and --pid-file; 0 if none.</summary>
    [JsonPropertyName("pid")] public int Pid { get; set; }

    /// <summary>Start time of <see cref="Pid"/> (field 22 of /proc/pid/stat), to tell a reused pid from ours.</summary>
    [JsonPropertyName("pidStartTime")] public ulong PidStartTime { get; set; }

    /// <summary>Host pid of the container's gofer; 0 if none.</summary>
    [JsonPropertyName("goferPid")] public int GoferPid { get; set; }

    /// <summary>Start time of <see cref="GoferPid"/> (field 22 of /proc/pid/stat).</summary>
    [JsonPropertyName("goferStartTime")] public ulong GoferStartTime { get; set; }

    /// <summary>When create began (UTC).</summary>
    [JsonPropertyName("created")] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>User name (or uid) of whoever created the container.</summary>
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";

    /// <summary>The spec's annotations, reported by <c>state</c>.</summary>
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }

    /// <summary>Path of the socket that receives the console master fd, if any.</summary>
    [JsonPropertyName("consoleSocket")] public string? ConsoleSocket { get; set; }

    /// <summary>Path of the sandbox's control socket.</summary>
    [JsonPropertyName("controlSocket")] public string ControlSocket { get; set; } = "";

    /// <summary>Absolute path of the container's root file system.</summary>
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";

    /// <summary>The sandbox's cgroup path below each hierarchy's mount ("" when none was made).</summary>
    [JsonPropertyName("cgroupPath")] public string CgroupPath { get; set; } = "";

    /// <summary>The sandbox's cgroup directory in each hierarchy it joined (a relative cgroupsPath lies below the creator's own cgroups, so it cannot be recomputed later); null in states written before.</summary>
    [JsonPropertyName("cgroupDirs")] public List<string>? CgroupDirs { get; set; }

    /// <summary>The container's wait status once it is known (as wait(2) encodes it), else null.</summary>
    [JsonPropertyName("exitStatus")] public int? ExitStatus { get; set; }

    /// <summary>The validated spec the container was created from.</summary>
    [JsonPropertyName("spec")] public Spec? Spec { get; set; }

    /// <summary>
    /// Host pid of the sandbox (boot) process when this container joined another container's
    /// sandbox (then <see cref="Pid"/> is the container's own waiter process); 0 for a root container.
    /// </summary>
    [JsonPropertyName("sandboxPid")] public int SandboxPid { get; set; }

    /// <summary>Start time of <see cref="SandboxPid"/>.</summary>
    [JsonPropertyName("sandboxPidStartTime")] public ulong SandboxPidStartTime { get; set; }

    /// <summary>True for the sandbox's root container: the one whose ID is the sandbox ID (it owns the boot process).</summary>
    [JsonIgnore] public bool IsSandboxRoot => Id == SandboxId;
}

/// <summary>Source-generated JSON metadata for the state record (NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerState))]
internal sealed partial class StateJsonContext : JsonSerializerContext
{
}
