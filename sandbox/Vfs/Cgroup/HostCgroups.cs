using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Vfs.Cgroup;

/// <summary>One cgroup hierarchy boot is in: its ID and controllers as /proc/self/cgroup lists them, and where boot's cgroup directory in it is.</summary>
/// <param name="Id">The hierarchy ID (0 for the unified hierarchy).</param>
/// <param name="Controllers">The controllers ("cpu,cpuacct", "name=systemd", "" for unified).</param>
/// <param name="HostDir">Host path of the sandbox's cgroup directory in this hierarchy, or null (not mounted on the host, or the sandbox sits at its root).</param>
/// <param name="MountOrder">Where the host's mount of it comes in mountinfo (the order runc mounts them in).</param>
/// <param name="Index">Its position in the list (names its mount point in the Sentry's empty root).</param>
internal sealed record CgroupHierarchy(int Id, string Controllers, string? HostDir, int MountOrder, int Index)
{
    /// <summary>Where the Sentry's empty root holds the directory (a read-only bind mount, see Boot.EmptyRoot), or null.</summary>
    public string? ViewPath => HostDir == null ? null : $"{HostCgroups.ViewRoot}/{Index}";

    /// <summary>True if the host has the hierarchy mounted.</summary>
    public bool Mounted => MountOrder != int.MaxValue;

    /// <summary>The directory name runc gives the hierarchy under /sys/fs/cgroup on a v1 host ("cpu,cpuacct", "systemd").</summary>
    public string DirectoryName => Controllers.StartsWith("name=", StringComparison.Ordinal) ? Controllers[5..] : Controllers;
}

/// <summary>
/// The sandbox's cgroups, found once while boot still sees the host's tree (the runtime put boot
/// in the sandbox's cgroup before it started, so boot's own cgroup is the sandbox's). The
/// container sees them as a cgroup namespace rooted there: /proc/PID/cgroup lists each hierarchy
/// at "/", and a "cgroup" mount shows the sandbox's directories (<see cref="HostCgroupFileSystem"/>).
/// </summary>
internal static class HostCgroups
{
    private static readonly Lazy<IReadOnlyList<CgroupHierarchy>> s_hierarchies = new(Discover);

    /// <summary>The hierarchies, in /proc/self/cgroup order (highest ID first).</summary>
    public static IReadOnlyList<CgroupHierarchy> Hierarchies => s_hierarchies.Value;

    /// <summary>True on a host with only the unified (v2) hierarchy.</summary>
    public static bool Unified => Hierarchies.Count == 1 && Hierarchies[0].Id == 0;

    /// <summary>The directory of the Sentry's empty root under which the hierarchies are bind-mounted.</summary>
    public const string ViewRoot = "/cgroup";

    /// <summary>Looks the hierarchies up now (call before boot leaves the host's tree).</summary>
    public static void Capture() => _ = s_hierarchies.Value;

    /// <summary>/proc/PID/cgroup of every container process: each hierarchy at its namespace root.</summary>
    public static string ProcText()
    {
        if (Hierarchies.Count == 0) return "0::/\n";
        var sb = new System.Text.StringBuilder();
        foreach (var h in Hierarchies) sb.Append(h.Id).Append(':').Append(h.Controllers).Append(":/\n");
        return sb.ToString();
    }

    private static IReadOnlyList<CgroupHierarchy> Discover()
    {
        var result = new List<CgroupHierarchy>();
        string[] lines, mounts;
        try
        {
            lines = File.ReadAllLines("/proc/self/cgroup");
            mounts = File.ReadAllLines("/proc/self/mountinfo");
        }
        catch (IOException)
        {
            return result;
        }
        catch (UnauthorizedAccessException)
        {
            return result;
        }
        foreach (string line in lines)
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3 || !int.TryParse(parts[0], out int id)) continue;
            string controllers = parts[1], path = parts[2];
            string? hostDir = null;
            int order = int.MaxValue;
            if (FindMount(mounts, id == 0, controllers) is var (mountPoint, mountRoot, index))
            {
                string rel = mountRoot == "/" ? path : path.StartsWith(mountRoot, StringComparison.Ordinal) ? path[mountRoot.Length..] : path;
                string dir = mountPoint.TrimEnd('/') + "/" + rel.TrimStart('/');
                // Where the sandbox has no cgroup of its own (the runtime makes none for this
                // controller) it would see the host's whole hierarchy: it sees an empty one.
                if (rel.Trim('/').Length > 0 && Directory.Exists(dir)) hostDir = dir;
                order = index;
            }
            result.Add(new CgroupHierarchy(id, controllers, hostDir, order, result.Count));
        }
        return result;
    }

    /// <summary>The mount point and root of the host's mount of a hierarchy (mountinfo(5)), or null.</summary>
    private static (string MountPoint, string Root, int Index)? FindMount(string[] mountinfo, bool unified, string controllers)
    {
        var wanted = controllers.Split(',', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < mountinfo.Length; i++)
        {
            string line = mountinfo[i];
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            string[] head = line[..dash].Split(' ');
            string[] tail = line[(dash + 3)..].Split(' ');
            if (head.Length < 5 || tail.Length < 3) continue;
            string type = tail[0];
            if (unified ? type != "cgroup2" : type != "cgroup") continue;
            if (!unified)
            {
                var options = tail[2].Split(',');
                if (!wanted.All(options.Contains)) continue;
            }
            return (Unescape(head[4]), Unescape(head[3]), i);
        }
        return null;
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at)
    {
        if (at + 3 > s.Length) return false;
        for (int i = at; i < at + 3; i++) if (s[i] < '0' || s[i] > '7') return false;
        return true;
    }
}
