using System.Text;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// The container's user namespace (user_namespaces(7)): linux.uidMappings/gidMappings, applied by
/// the Sentry. Credentials and file owners inside the Sentry are the container's ids; host ids
/// exist only at the gofer boundary, where files' owners are translated in (a host id no range
/// maps becomes <see cref="Unmapped"/>, shown as the overflow id 65534) and owners of new files
/// and chown targets out. As in Linux, capabilities act on a file only when its owner and group
/// are mapped (capable_wrt_inode_uidgid): the container's root cannot read, write or chown a host
/// file whose owner the namespace does not map. Without a user namespace in the spec the maps are
/// the identity over all 2^32-1 ids, as in the initial namespace.
/// </summary>
internal sealed class UserNamespace
{
    /// <summary>The Sentry's mark for an owner no range maps (Linux's INVALID_UID; stat shows 65534).</summary>
    public const uint Unmapped = uint.MaxValue;

    /// <summary>The overflow id (/proc/sys/kernel/overflowuid) stat reports for <see cref="Unmapped"/>.</summary>
    public const uint OverflowId = 65534;

    private readonly (uint Inside, uint Outside, uint Count)[] _uids, _gids;

    /// <summary>True when the spec asked for a user namespace (not the initial one's identity).</summary>
    public bool IsPrivate { get; }

    private UserNamespace((uint, uint, uint)[] uids, (uint, uint, uint)[] gids, bool isPrivate)
    {
        _uids = uids;
        _gids = gids;
        IsPrivate = isPrivate;
    }

    /// <summary>The initial namespace: every id is itself.</summary>
    public static UserNamespace Initial { get; } = new([(0, 0, uint.MaxValue)], [(0, 0, uint.MaxValue)], false);

    /// <summary>The sandbox's namespace (set once at boot from the spec).</summary>
    public static UserNamespace Current { get; set; } = Initial;

    /// <summary>The namespace linux.namespaces/uidMappings/gidMappings describe.</summary>
    public static UserNamespace FromSpec(Spec spec)
    {
        if (spec.Linux?.Namespaces?.Any(n => n.Type == "user") != true) return Initial;
        static (uint, uint, uint)[] Ranges(List<IdMapping>? maps) =>
            (maps ?? []).Select(m => (m.ContainerId, m.HostId, m.Size)).ToArray();
        return new UserNamespace(Ranges(spec.Linux.UidMappings), Ranges(spec.Linux.GidMappings), true);
    }

    /// <summary>Host uid → the container's, or <see cref="Unmapped"/>.</summary>
    public uint UidFromHost(uint host) => FromHost(_uids, host);

    /// <summary>Host gid → the container's, or <see cref="Unmapped"/>.</summary>
    public uint GidFromHost(uint host) => FromHost(_gids, host);

    /// <summary>The container's uid → host uid, or <see cref="Unmapped"/> when no range maps it.</summary>
    public uint UidToHost(uint inside) => ToHost(_uids, inside);

    /// <summary>The container's gid → host gid, or <see cref="Unmapped"/>.</summary>
    public uint GidToHost(uint inside) => ToHost(_gids, inside);

    /// <summary>True if <paramref name="uid"/> is an id of the container's namespace (make_kuid is valid).</summary>
    public bool HasUid(uint uid) => uid != Unmapped && ToHost(_uids, uid) != Unmapped;

    /// <summary>True if <paramref name="gid"/> is an id of the container's namespace.</summary>
    public bool HasGid(uint gid) => gid != Unmapped && ToHost(_gids, gid) != Unmapped;

    /// <summary>/proc/PID/uid_map as a reader inside the namespace sees it ("%10u %10u %10u").</summary>
    public string UidMapText => MapText(_uids);

    /// <summary>/proc/PID/gid_map.</summary>
    public string GidMapText => MapText(_gids);

    /// <summary>
    /// The id stat and /proc show for an owner: itself, or the overflow id for an unmapped one.
    /// </summary>
    public static uint Shown(uint id) => id == Unmapped ? OverflowId : id;

    private static uint FromHost((uint Inside, uint Outside, uint Count)[] ranges, uint host)
    {
        foreach (var r in ranges)
            if (host >= r.Outside && (ulong)host - r.Outside < r.Count) return r.Inside + (host - r.Outside);
        return Unmapped;
    }

    private static uint ToHost((uint Inside, uint Outside, uint Count)[] ranges, uint inside)
    {
        foreach (var r in ranges)
            if (inside >= r.Inside && (ulong)inside - r.Inside < r.Count) return r.Outside + (inside - r.Inside);
        return Unmapped;
    }

    private static string MapText((uint Inside, uint Outside, uint Count)[] ranges)
    {
        var sb = new StringBuilder();
        foreach (var r in ranges) sb.Append($"{r.Inside,10} {r.Outside,10} {r.Count,10}\n");
        return sb.ToString();
    }
}
