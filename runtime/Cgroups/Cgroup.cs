using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Cgroups;

/// <summary>Resource usage of a cgroup, as <c>events --stats</c> reports it.</summary>
/// <param name="CpuUsageNanoseconds">Total CPU time used.</param>
/// <param name="MemoryUsageBytes">Memory charged now.</param>
/// <param name="MemoryLimitBytes">The memory limit (ulong.MaxValue-ish when unlimited).</param>
/// <param name="PidsCurrent">Tasks in the cgroup.</param>
/// <param name="PidsLimit">The pids limit (0 when unlimited).</param>
public sealed record CgroupStats(ulong CpuUsageNanoseconds, ulong MemoryUsageBytes, ulong MemoryLimitBytes, ulong PidsCurrent, ulong PidsLimit);

/// <summary>
/// The sandbox's cgroup, on cgroup v1 (one directory per controller hierarchy) or v2 (one unified
/// directory). The whole sandbox (boot, its stubs, the gofer) lives in it, so linux.resources
/// limit the sandbox as a whole.
/// </summary>
public sealed class Cgroup
{
    private const string Mount = "/sys/fs/cgroup";
    private static readonly string[] V1Controllers = ["memory", "cpu", "cpuacct", "pids", "freezer", "blkio"];

    private Cgroup(string path) => Path = path;

    /// <summary>The cgroup path below each hierarchy's mount.</summary>
    public string Path { get; }

    /// <summary>True on a cgroup v2 (unified) host.</summary>
    public static bool IsV2 => File.Exists(Mount + "/cgroup.controllers");

    /// <summary>A handle for <paramref name="path"/> (nothing is created).</summary>
    public static Cgroup At(string path) => new(path);

    /// <summary>The directories of this cgroup that exist or would be made.</summary>
    public IEnumerable<string> Directories => IsV2
        ? [Mount + Path]
        : V1Controllers.Where(c => Directory.Exists($"{Mount}/{c}")).Select(c => $"{Mount}/{c}{Path}");

    /// <summary>Creates the cgroup and applies <paramref name="resources"/>; throws <see cref="RuntimeError"/> naming the file that failed.</summary>
    public void Create(Resources? resources)
    {
        if (IsV2) EnableV2Controllers();
        foreach (string dir in Directories) Directory.CreateDirectory(dir);
        if (resources?.Pids is not { Limit: not 0 }) LimitPidsByDefault();
        if (resources == null) return;
        if (IsV2) ApplyV2(resources);
        else ApplyV1(resources);
    }

    /// <summary>
    /// pids.max when the spec sets none: the sandbox's host processes (boot, the gofer, one stub
    /// per application process, and their threads) are bounded even then, so a program (or a
    /// Sentry taken over) cannot fork-bomb the host through the stubs. Best effort: a host
    /// without the pids controller keeps no limit.
    /// </summary>
    public const long DefaultPidsLimit = 4096;

    private void LimitPidsByDefault()
    {
        string file = IsV2 ? Mount + Path + "/pids.max" : $"{Mount}/pids{Path}/pids.max";
        try
        {
            if (File.Exists(file)) File.WriteAllText(file, DefaultPidsLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Logging.RuntimeLog.Debug($"default pids limit on {file}: {e.Message}");
        }
    }

    /// <summary>Applies <paramref name="resources"/> to the existing cgroup (update); throws <see cref="RuntimeError"/> naming the file that failed.</summary>
    public void Apply(Resources resources)
    {
        if (!Directories.Any(Directory.Exists)) throw new RuntimeError($"cgroup {Path} does not exist");
        if (IsV2) ApplyV2(resources);
        else ApplyV1(resources);
    }

    /// <summary>Moves process <paramref name="pid"/> (and so its future children) into the cgroup.</summary>
    public void AddProcess(int pid)
    {
        foreach (string dir in Directories) Write(dir + "/cgroup.procs", pid.ToString());
    }

    /// <summary>
    /// Moves the calling thread into the cgroup, so the processes it clones next are born there.
    /// On cgroup v1 only the thread moves ("0" written to each hierarchy's <c>tasks</c>): moving
    /// oneself alone needs no global thread-group lock, whose first taking waits for an RCU grace
    /// period (5-15 ms per create). cgroup v2 moves the whole process (threads must stay together).
    /// Precondition: the caller clones and moves back on this same thread.
    /// </summary>
    public void AddCallingThread()
    {
        if (IsV2)
        {
            AddProcess(Environment.ProcessId);
            return;
        }
        foreach (string dir in Directories) Write(dir + "/tasks", "0");
    }

    /// <summary>The cgroups of the calling thread (/proc/thread-self/cgroup), for <see cref="RestoreCallingThread"/>.</summary>
    public static Dictionary<string, string> MembershipOfCallingThread() => ParseMembership("/proc/thread-self/cgroup");

    /// <summary>Moves the calling thread back (as <see cref="AddCallingThread"/> moved it) to the cgroups of <paramref name="membership"/>.</summary>
    public static void RestoreCallingThread(Dictionary<string, string> membership)
    {
        if (IsV2)
        {
            Restore(Environment.ProcessId, membership);
            return;
        }
        foreach (string controller in V1Controllers)
        {
            if (membership.TryGetValue(controller, out string? path) && Directory.Exists($"{Mount}/{controller}"))
                Write($"{Mount}/{controller}{path}/tasks", "0");
        }
    }

    /// <summary>The cgroup each hierarchy had <paramref name="pid"/> in (from /proc/PID/cgroup), to move it back.</summary>
    public static Dictionary<string, string> MembershipOf(int pid) => ParseMembership($"/proc/{pid}/cgroup");

    private static Dictionary<string, string> ParseMembership(string file)
    {
        var result = new Dictionary<string, string>();
        foreach (string line in File.ReadAllLines(file))
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (parts[1].Length == 0) result[""] = parts[2];
            foreach (string controller in parts[1].Split(',')) result[controller] = parts[2];
        }
        return result;
    }

    /// <summary>Moves <paramref name="pid"/> back to the cgroups of <paramref name="membership"/>.</summary>
    public static void Restore(int pid, Dictionary<string, string> membership)
    {
        if (IsV2)
        {
            if (membership.TryGetValue("", out string? path)) Write($"{Mount}{path}/cgroup.procs", pid.ToString());
            return;
        }
        foreach (string controller in V1Controllers)
        {
            if (membership.TryGetValue(controller, out string? path) && Directory.Exists($"{Mount}/{controller}"))
                Write($"{Mount}/{controller}{path}/cgroup.procs", pid.ToString());
        }
    }

    /// <summary>Removes the cgroup directories (they must be empty of processes); missing ones are fine.</summary>
    public void Destroy()
    {
        foreach (string dir in Directories)
        {
            for (int attempt = 0; attempt < 500 && Directory.Exists(dir); attempt++)
            {
                try
                {
                    Directory.Delete(dir);
                }
                catch (IOException)
                {
                    Thread.Sleep(1); // tasks still leaving (up to half a second in all)
                }
            }
        }
    }

    /// <summary>Reads the usage counters.</summary>
    public CgroupStats Stats()
    {
        if (IsV2)
        {
            string dir = Mount + Path;
            ulong usec = ReadKeyed(dir + "/cpu.stat", "usage_usec");
            return new CgroupStats(usec * 1000, ReadNumber(dir + "/memory.current"), ReadNumber(dir + "/memory.max"),
                ReadNumber(dir + "/pids.current"), ReadNumber(dir + "/pids.max"));
        }
        return new CgroupStats(
            ReadNumber($"{Mount}/cpuacct{Path}/cpuacct.usage"),
            ReadNumber($"{Mount}/memory{Path}/memory.usage_in_bytes"),
            ReadNumber($"{Mount}/memory{Path}/memory.limit_in_bytes"),
            ReadNumber($"{Mount}/pids{Path}/pids.current"),
            ReadNumber($"{Mount}/pids{Path}/pids.max"));
    }

    private void ApplyV1(Resources r)
    {
        if (r.Memory?.Limit is long limit && (limit > 0 || limit == -1)) Write($"{Mount}/memory{Path}/memory.limit_in_bytes", limit.ToString());
        if (r.Memory?.Reservation is long soft && soft > 0) Write($"{Mount}/memory{Path}/memory.soft_limit_in_bytes", soft.ToString());
        if (r.Memory?.Swap is long swap && swap > 0 && File.Exists($"{Mount}/memory{Path}/memory.memsw.limit_in_bytes"))
            Write($"{Mount}/memory{Path}/memory.memsw.limit_in_bytes", swap.ToString());
        if (r.Cpu?.Shares is ulong shares && shares > 0) Write($"{Mount}/cpu{Path}/cpu.shares", shares.ToString());
        if (r.Cpu?.Period is ulong period && period > 0) Write($"{Mount}/cpu{Path}/cpu.cfs_period_us", period.ToString());
        if (r.Cpu?.Quota is long quota && quota != 0) Write($"{Mount}/cpu{Path}/cpu.cfs_quota_us", quota.ToString());
        if (r.Pids is { Limit: var pids } && pids != 0) Write($"{Mount}/pids{Path}/pids.max", pids > 0 ? pids.ToString() : "max");
    }

    private void ApplyV2(Resources r)
    {
        string dir = Mount + Path;
        if (r.Memory?.Limit is long limit && (limit > 0 || limit == -1)) Write(dir + "/memory.max", limit > 0 ? limit.ToString() : "max");
        if (r.Memory?.Reservation is long soft && soft > 0) Write(dir + "/memory.low", soft.ToString());
        if (r.Memory?.Swap is long swap && swap > 0 && r.Memory.Limit is long l && swap >= l) Write(dir + "/memory.swap.max", (swap - l).ToString());
        if (r.Cpu?.Shares is ulong shares && shares > 0)
            Write(dir + "/cpu.weight", Math.Clamp(1 + (shares - 2) * 9999 / 262142, 1UL, 10000UL).ToString());
        if (r.Cpu?.Quota is long quota && quota != 0)
            Write(dir + "/cpu.max", $"{(quota > 0 ? quota.ToString() : "max")} {r.Cpu.Period ?? 100000}");
        if (r.Pids is { Limit: var pids } && pids != 0) Write(dir + "/pids.max", pids > 0 ? pids.ToString() : "max");
    }

    private void EnableV2Controllers()
    {
        // Every ancestor must delegate the controllers to its children.
        string current = Mount;
        foreach (string part in Path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries).SkipLast(0))
        {
            try { File.WriteAllText(current + "/cgroup.subtree_control", "+memory +cpu +pids"); }
            catch (IOException) { }
            current += "/" + part;
            Directory.CreateDirectory(current);
        }
    }

    private static void Write(string file, string value)
    {
        try
        {
            File.WriteAllText(file, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuntimeError($"writing {value} to {file}: {e.Message}");
        }
    }

    private static ulong ReadNumber(string file)
    {
        try
        {
            string text = File.ReadAllText(file).Trim();
            return text == "max" ? ulong.MaxValue : ulong.TryParse(text, out ulong v) ? v : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static ulong ReadKeyed(string file, string key)
    {
        try
        {
            foreach (string line in File.ReadAllLines(file))
            {
                string[] kv = line.Split(' ');
                if (kv.Length == 2 && kv[0] == key && ulong.TryParse(kv[1], out ulong v)) return v;
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }
}
