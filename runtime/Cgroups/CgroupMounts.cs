namespace RunscNet.Runtime.Cgroups;

/// <summary>
/// One cgroup v1 hierarchy mounted on the host (mountinfo(5)): where, which root of the
/// hierarchy the mount shows, and its controllers as /proc/PID/cgroup names them ("cpu",
/// "cpu,cpuacct", "name=systemd").
/// </summary>
/// <param name="MountPoint">The mount point ("/sys/fs/cgroup/memory").</param>
/// <param name="Root">The hierarchy directory the mount shows ("/" unless bind-mounted from a subtree).</param>
/// <param name="Controllers">The controllers bound to it, "name=X" for a named hierarchy.</param>
public sealed record CgroupMount(string MountPoint, string Root, IReadOnlyList<string> Controllers)
{
    /// <summary>True if <paramref name="controller"/> is bound to this hierarchy.</summary>
    public bool Has(string controller) => Controllers.Contains(controller);

    /// <summary>The host directory of cgroup <paramref name="cgroupPath"/> (a path in the hierarchy, as /proc/PID/cgroup shows it).</summary>
    public string DirectoryOf(string cgroupPath)
    {
        string rel = Root != "/" && cgroupPath.StartsWith(Root, StringComparison.Ordinal) ? cgroupPath[Root.Length..] : cgroupPath;
        return MountPoint.TrimEnd('/') + "/" + rel.Trim('/');
    }
}

/// <summary>
/// The cgroup v1 hierarchies of the host, which the sandbox joins as runc does: every mounted
/// controller (cpuset, cpu, cpuacct, memory, devices, freezer, blkio, pids, hugetlb, net_cls,
/// net_prio, perf_event, rdma, misc) and the named systemd hierarchy. On a hybrid host the
/// cgroup2 hierarchy (/sys/fs/cgroup/unified) carries no controller and is not joined (moving
/// a whole process there costs an RCU grace period per create; see docs/ARCHITECTURE.md).
/// </summary>
public static class CgroupMounts
{
    /// <summary>The v1 hierarchies mounted in the caller's mount namespace (one entry per hierarchy, first mount wins).</summary>
    public static IReadOnlyList<CgroupMount> V1()
    {
        var known = KnownControllers();
        var result = new List<CgroupMount>();
        string[] mountinfo;
        try
        {
            mountinfo = File.ReadAllLines("/proc/self/mountinfo");
        }
        catch (IOException)
        {
            return result;
        }
        foreach (string line in mountinfo)
        {
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            string[] head = line[..dash].Split(' ');
            string[] tail = line[(dash + 3)..].Split(' ');
            if (head.Length < 5 || tail.Length < 3 || tail[0] != "cgroup") continue;
            var controllers = tail[2].Split(',')
                .Where(o => known.Contains(o) || o.StartsWith("name=", StringComparison.Ordinal)).ToList();
            if (controllers.Count == 0) continue;
            if (result.Any(m => m.Controllers.SequenceEqual(controllers))) continue;
            result.Add(new CgroupMount(Unescape(head[4]), Unescape(head[3]), controllers));
        }
        return result;
    }

    /// <summary>Each hierarchy's cgroup of <paramref name="file"/> (/proc/PID/cgroup format), by controller ("" for the unified one).</summary>
    public static Dictionary<string, string> Membership(string file)
    {
        var result = new Dictionary<string, string>();
        foreach (string line in File.ReadAllLines(file))
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (parts[1].Length == 0) result[""] = parts[2];
            foreach (string controller in parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries)) result[controller] = parts[2];
        }
        return result;
    }

    // The controllers the kernel knows (/proc/cgroups), to tell them from mount options (rw, xattr...).
    private static HashSet<string> KnownControllers()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (string line in File.ReadAllLines("/proc/cgroups"))
            {
                if (line.StartsWith('#')) continue;
                string name = line.Split('\t', ' ')[0];
                if (name.Length > 0) set.Add(name);
            }
        }
        catch (IOException)
        {
        }
        return set;
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s.Substring(i + 1, 3).All(c => c is >= '0' and <= '7'))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
