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
/// The sandbox's cgroup, on cgroup v1 (one directory in every mounted hierarchy, as runc's
/// cgroupfs driver makes: <see cref="CgroupMounts"/>) or v2 (one unified directory). The whole
/// sandbox (boot, its stubs, the gofer) lives in it, so linux.resources limit the sandbox as a
/// whole, and `state`'s pid (boot) shows it in /proc/PID/cgroup.
/// An absolute cgroupsPath is taken below each hierarchy's root; a relative one below the
/// creating runtime's own cgroup in each hierarchy (runc's rule), which is why the directories
/// are recorded in the state rather than recomputed.
/// </summary>
public sealed partial class Cgroup
{
    private const string Mount = "/sys/fs/cgroup";
    private readonly List<(CgroupMount? Mount, string Dir)> _dirs;

    private Cgroup(string path, List<(CgroupMount? Mount, string Dir)> dirs)
    {
        Path = path;
        _dirs = dirs;
    }

    /// <summary>The cgroupsPath it was made from (absolute, or relative to the creator's cgroups).</summary>
    public string Path { get; }

    /// <summary>True on a cgroup v2 (unified) host.</summary>
    public static bool IsV2 => File.Exists(Mount + "/cgroup.controllers");

    /// <summary>The directories of this cgroup, one per hierarchy (they may not exist yet).</summary>
    public IReadOnlyList<string> Directories => _dirs.Select(d => d.Dir).ToList();

    /// <summary>A handle for <paramref name="path"/> as the caller would create it now (nothing is created).</summary>
    public static Cgroup Resolve(string path)
    {
        bool relative = !path.StartsWith('/');
        var dirs = new List<(CgroupMount?, string)>();
        if (IsV2)
        {
            string own = relative ? CgroupMounts.Membership("/proc/self/cgroup").GetValueOrDefault("", "/") : "";
            dirs.Add((null, Mount + Join(own, path)));
            return new Cgroup(path, dirs);
        }
        var membership = relative ? CgroupMounts.Membership("/proc/self/cgroup") : null;
        foreach (var mount in CgroupMounts.V1())
        {
            string cgroupPath = membership == null ? path : Join(membership.GetValueOrDefault(mount.Controllers[0], "/"), path);
            dirs.Add((mount, relative ? mount.DirectoryOf(cgroupPath) : mount.MountPoint.TrimEnd('/') + cgroupPath));
        }
        return new Cgroup(path, dirs);
    }

    /// <summary>The cgroup a state recorded: its directories, or (states written before they were recorded) <paramref name="path"/> resolved now.</summary>
    public static Cgroup FromState(string path, IReadOnlyList<string>? directories)
    {
        if (directories == null) return Resolve(path);
        var mounts = IsV2 ? [] : CgroupMounts.V1();
        var dirs = directories
            .Select(d => (mounts.FirstOrDefault(m => d.StartsWith(m.MountPoint.TrimEnd('/') + "/", StringComparison.Ordinal)), d))
            .ToList();
        return new Cgroup(path, dirs);
    }

    private static string Join(string parent, string child) => "/" + (parent.Trim('/') + "/" + child.Trim('/')).Trim('/');

    /// <summary>The directory of the hierarchy <paramref name="controller"/> is bound to, or null if the host has no such hierarchy.</summary>
    public string? DirectoryOf(string controller) =>
        IsV2 ? _dirs[0].Dir : _dirs.FirstOrDefault(d => d.Mount?.Has(controller) == true).Dir;

    /// <summary>Creates the cgroup and applies <paramref name="resources"/>; throws <see cref="RuntimeError"/> naming the file that failed.</summary>
    public void Create(Resources? resources)
    {
        if (resources != null) CheckSupported(resources);
        if (IsV2) EnableV2Controllers(_dirs[0].Dir);
        foreach (var (mount, dir) in _dirs)
        {
            try
            {
                if (mount?.Has("cpuset") == true) CreateCpuset(mount, dir);
                else Directory.CreateDirectory(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new RuntimeError($"creating cgroup {dir}: {e.Message}");
            }
        }
        if (resources?.Pids is not { Limit: not 0 }) LimitPidsByDefault();
        if (resources == null) return;
        if (IsV2) ApplyV2(resources);
        else ApplyV1(resources);
    }

    /// <summary>
    /// A new cpuset cgroup has no CPUs and no memory nodes, and no task may join it until it has
    /// (ENOSPC): each level made here starts with its parent's, as runc does.
    /// </summary>
    private static void CreateCpuset(CgroupMount mount, string dir)
    {
        string current = mount.MountPoint.TrimEnd('/');
        foreach (string part in dir[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string parent = current;
            current += "/" + part;
            Directory.CreateDirectory(current);
            foreach (string file in new[] { "cpuset.cpus", "cpuset.mems" })
            {
                if (File.ReadAllText($"{current}/{file}").Trim().Length == 0)
                    Write($"{current}/{file}", File.ReadAllText($"{parent}/{file}").Trim());
            }
        }
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
        if (DirectoryOf("pids") is not { } dir) return;
        string file = dir + "/pids.max";
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
        if (!_dirs.Any(d => Directory.Exists(d.Dir))) throw new RuntimeError($"cgroup {Path} does not exist");
        CheckSupported(resources);
        if (IsV2) ApplyV2(resources);
        else ApplyV1(resources);
    }

    /// <summary>Moves process <paramref name="pid"/> (and so its future children) into the cgroup.</summary>
    public void AddProcess(int pid)
    {
        foreach (var (_, dir) in _dirs) Write(dir + "/cgroup.procs", pid.ToString());
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
        foreach (var (_, dir) in _dirs) Write(dir + "/tasks", "0");
    }

    /// <summary>The cgroups of the calling thread (/proc/thread-self/cgroup), for <see cref="RestoreCallingThread"/>.</summary>
    public static Dictionary<string, string> MembershipOfCallingThread() => CgroupMounts.Membership("/proc/thread-self/cgroup");

    /// <summary>Moves the calling thread back (as <see cref="AddCallingThread"/> moved it) to the cgroups of <paramref name="membership"/>.</summary>
    public static void RestoreCallingThread(Dictionary<string, string> membership)
    {
        if (IsV2)
        {
            if (membership.TryGetValue("", out string? path)) Write($"{Mount}{path}/cgroup.procs", Environment.ProcessId.ToString());
            return;
        }
        foreach (var mount in CgroupMounts.V1())
        {
            if (membership.TryGetValue(mount.Controllers[0], out string? path) && Directory.Exists(mount.MountPoint))
                Write(mount.DirectoryOf(path) + "/tasks", "0");
        }
    }

    /// <summary>Removes the cgroup directories (they must be empty of processes); missing ones are fine.</summary>
    public void Destroy()
    {
        foreach (var (_, dir) in _dirs)
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
            string dir = _dirs[0].Dir;
            ulong usec = ReadKeyed(dir + "/cpu.stat", "usage_usec");
            return new CgroupStats(usec * 1000, ReadNumber(dir + "/memory.current"), ReadNumber(dir + "/memory.max"),
                ReadNumber(dir + "/pids.current"), ReadNumber(dir + "/pids.max"));
        }
        string cpuacct = DirectoryOf("cpuacct") ?? "", memory = DirectoryOf("memory") ?? "", pids = DirectoryOf("pids") ?? "";
        return new CgroupStats(
            ReadNumber(cpuacct + "/cpuacct.usage"),
            ReadNumber(memory + "/memory.usage_in_bytes"),
            ReadNumber(memory + "/memory.limit_in_bytes"),
            ReadNumber(pids + "/pids.current"),
            ReadNumber(pids + "/pids.max"));
    }

    private static void EnableV2Controllers(string dir)
    {
        // Every ancestor must delegate the controllers to its children: each one it has, so a
        // controller the host lacks does not stop the others.
        string current = Mount;
        foreach (string part in dir[Mount.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string available = "";
            try { available = File.ReadAllText(current + "/cgroup.controllers"); }
            catch (IOException) { }
            foreach (string controller in available.Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries))
            {
                try { File.WriteAllText(current + "/cgroup.subtree_control", "+" + controller); }
                catch (IOException) { }
            }
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

    private static string? TryRead(string file)
    {
        try
        {
            return File.ReadAllText(file).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ulong ReadNumber(string file)
    {
        string? text = TryRead(file);
        return text == "max" ? ulong.MaxValue : ulong.TryParse(text, out ulong v) ? v : 0;
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
