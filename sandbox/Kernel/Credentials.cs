namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A task's identity (credentials(7)): real, effective, saved and filesystem user and group
/// IDs, supplementary groups and capability sets. Immutable: changes make a new instance.
/// </summary>
public sealed record Credentials(
    uint Uid, uint Gid, uint Euid, uint Egid, uint Suid, uint Sgid, uint Fsuid, uint Fsgid,
    uint[] Groups, ulong EffectiveCaps, ulong PermittedCaps, ulong InheritableCaps, ulong BoundingCaps)
{
    /// <summary>All capabilities up to CAP_CHECKPOINT_RESTORE (40).</summary>
    public const ulong AllCaps = (1UL << 41) - 1;

    /// <summary>Root with every capability (the default for a container process).</summary>
    public static Credentials Root { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, Array.Empty<uint>(), AllCaps, AllCaps, 0, AllCaps);

    /// <summary>True if the effective set holds capability <paramref name="cap"/> (linux/capability.h number).</summary>
    public bool HasCapability(int cap) => (EffectiveCaps & (1UL << cap)) != 0;

    /// <summary>True if <paramref name="gid"/> is the filesystem group or a supplementary group.</summary>
    public bool InGroup(uint gid) => Fsgid == gid || Array.IndexOf(Groups, gid) >= 0;
}
