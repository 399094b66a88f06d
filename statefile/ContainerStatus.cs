using System.Text.Json.Serialization;

namespace RunscNet.StateFile;

/// <summary>
/// A container's status as the OCI runtime spec names it (plus <see cref="Paused"/>, which runc and
/// runsc add). Serialised as the lower-case names <c>state</c> prints.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ContainerStatus>))]
public enum ContainerStatus
{
    /// <summary>The runtime is still creating the container.</summary>
    [JsonStringEnumMemberName("creating")] Creating,
    /// <summary>create has finished; the user program has not started.</summary>
    [JsonStringEnumMemberName("created")] Created,
    /// <summary>The user program is running.</summary>
    [JsonStringEnumMemberName("running")] Running,
    /// <summary>Every task of the container is stopped (pause).</summary>
    [JsonStringEnumMemberName("paused")] Paused,
    /// <summary>The container's process has exited (or its sandbox is gone).</summary>
    [JsonStringEnumMemberName("stopped")] Stopped,
}

/// <summary>Names of <see cref="ContainerStatus"/> values as the OCI state JSON spells them.</summary>
public static class ContainerStatusNames
{
    /// <summary>The OCI spelling of <paramref name="status"/> ("created", "running", ...).</summary>
    public static string ToOciString(this ContainerStatus status) => status switch
    {
        ContainerStatus.Creating => "creating",
        ContainerStatus.Created => "created",
        ContainerStatus.Running => "running",
        ContainerStatus.Paused => "paused",
        _ => "stopped",
    };
}
