namespace RunscNet.Runtime.Cgroups;

/// <summary>
/// Turns <c>linux.cgroupsPath</c> into a cgroup directory path (relative to each hierarchy's
/// mount): a cgroupfs path as is (a relative one stays relative: <see cref="Cgroup.Resolve"/> puts
/// it below the creator's own cgroup in each hierarchy, as runc's cgroupfs driver), the systemd form <c>slice:prefix:name</c> (with --systemd-cgroup)
/// as <c>/parent.slice/slice/prefix-name.scope</c>, and no path as <c>/runsc-net/ID</c>.
/// </summary>
public static class CgroupPath
{
    /// <summary>Resolves the path for container <paramref name="containerId"/>; throws <see cref="RuntimeError"/> if malformed.</summary>
    public static string Resolve(string? cgroupsPath, bool systemd, string containerId)
    {
        if (string.IsNullOrEmpty(cgroupsPath))
            return systemd ? "/system.slice/runsc-net-" + containerId + ".scope" : "/runsc-net/" + containerId;
        if (!systemd)
        {
            if (cgroupsPath.Split('/').Any(part => part == "..")) throw new RuntimeError($"linux.cgroupsPath {cgroupsPath} must not contain ..");
            return cgroupsPath.StartsWith('/') ? "/" + cgroupsPath.Trim('/') : cgroupsPath.Trim('/');
        }
        string[] parts = cgroupsPath.Split(':');
        if (parts.Length != 3) throw new RuntimeError($"linux.cgroupsPath {cgroupsPath} is not slice:prefix:name (--systemd-cgroup)");
        string slice = parts[0].Length == 0 ? "system.slice" : parts[0];
        string unit = parts[2].EndsWith(".slice", StringComparison.Ordinal) ? parts[2] : $"{parts[1]}-{parts[2]}.scope";
        return ExpandSlice(slice) + "/" + unit;
    }

    /// <summary>systemd's slice nesting: "a-b-c.slice" lives in "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" is the root.</summary>
    public static string ExpandSlice(string slice)
    {
        if (!slice.EndsWith(".slice", StringComparison.Ordinal) || slice.Contains('/'))
            throw new RuntimeError($"invalid systemd slice {slice}");
        if (slice == "-.slice") return "";
        string name = slice[..^".slice".Length];
        var path = new System.Text.StringBuilder();
        string prefix = "";
        foreach (string component in name.Split('-'))
        {
            if (component.Length == 0) throw new RuntimeError($"invalid systemd slice {slice}");
            prefix = prefix.Length == 0 ? component : prefix + "-" + component;
            path.Append('/').Append(prefix).Append(".slice");
        }
        return path.ToString();
    }
}
