using System.Diagnostics;
using System.Text;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Proc;

internal sealed partial class ProcFileSystem
{
    private static readonly long s_bootTimestamp = Stopwatch.GetTimestamp();
    private static readonly long s_bootEpochSeconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static readonly string s_bootId = Guid.NewGuid().ToString();

    /// <summary>The kernel release /proc reports (kept in step with uname).</summary>
    public static string OsRelease { get; set; } = "4.4.0";

    /// <summary>The kernel version string /proc reports.</summary>
    public static string KernelVersion { get; set; } = "#1 SMP runsc-net";

    /// <summary>The hostname /proc/sys/kernel/hostname reports for a task (set by the kernel).</summary>
    public static Func<Task, string>? HostnameOf { get; set; }

    private static double UptimeSeconds => Stopwatch.GetElapsedTime(s_bootTimestamp).TotalSeconds;

    private Dictionary<string, Func<Inode>> SystemEntries()
    {
        Inode File(Func<Task, string> f, uint mode = 0x124) => new ProcFile(this, f, mode);
        Func<Inode> Text(string s, uint mode = 0x124) => () => File(_ => s, mode);
        // What the Sentry itself decides (its uname, its SysV IPC, its pipes and fd limits); every
        // other sysctl is the host's (SysctlDirectory).
        var kernel = new Dictionary<string, Func<Inode>>
        {
            ["hostname"] = () => File(t => (HostnameOf?.Invoke(t) ?? Environment.MachineName) + "\n", 0x1a4),
            ["domainname"] = Text("(none)\n", 0x1a4),
            ["osrelease"] = () => File(_ => OsRelease + "\n"),
            ["ostype"] = Text("Linux\n"),
            ["version"] = () => File(_ => KernelVersion + "\n"),
            ["cap_last_cap"] = Text("40\n"),
            ["shmmax"] = Text("18446744073692774399\n", 0x1a4),
            ["shmall"] = Text("18446744073692774399\n", 0x1a4),
            ["shmmni"] = Text("4096\n", 0x1a4),
            ["random"] = () => ProcDirectory.Fixed(this, new Dictionary<string, Func<Inode>>
            {
                ["boot_id"] = () => File(_ => s_bootId + "\n"),
                ["uuid"] = () => File(_ => Guid.NewGuid() + "\n"),
                ["entropy_avail"] = Text("256\n"),
                ["poolsize"] = Text("256\n"),
            }),
        };
        var mqueue = new Dictionary<string, Func<Inode>>();
        // linux.sysctl: the values the Sentry keeps (SysV IPC limits, POSIX mqueue limits,
        // domainname) as the spec set them; the runtime refused any other non-net key.
        foreach (var (path, value) in SpecSysctls)
        {
            string line = value.Trim() + "\n";
            if (path.StartsWith("kernel/", StringComparison.Ordinal)) kernel[path[7..]] = Text(line, 0x1a4);
            else if (path.StartsWith("fs/mqueue/", StringComparison.Ordinal)) mqueue[path[10..]] = Text(line, 0x1a4);
        }
        var vm = new Dictionary<string, Func<Inode>>
        {
        };
        var fsDir = new Dictionary<string, Func<Inode>>
        {
            ["nr_open"] = Text("1048576\n", 0x1a4),
            ["pipe-max-size"] = Text($"{Pipe.Pipe.MaxCapacity}\n", 0x1a4),
        };
        if (mqueue.Count > 0) fsDir["mqueue"] = () => SysctlDirectory(mqueue, "fs/mqueue");
        var net = new Dictionary<string, Func<Inode>>
        {
        };
        var sys = new Dictionary<string, Func<Inode>>
        {
            ["kernel"] = () => SysctlDirectory(kernel, "kernel"),
            ["vm"] = () => SysctlDirectory(vm, "vm"),
            ["fs"] = () => SysctlDirectory(fsDir, "fs"),
            ["net"] = () => SysctlDirectory(net, "net"),
        };
        return new Dictionary<string, Func<Inode>>
        {
            ["meminfo"] = () => File(_ => MemInfo()),
            ["cpuinfo"] = () => File(_ => CpuInfo()),
            ["uptime"] = () => File(_ => string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0:F2} {1:F2}\n", UptimeSeconds, UptimeSeconds * Environment.ProcessorCount)),
            ["loadavg"] = () => File(_ => $"0.00 0.00 0.00 1/{Processes().Sum(p => p.Threads.Count)} {Processes().Select(p => p.Pid).DefaultIfEmpty(1).Max()}\n"),
            ["stat"] = () => File(_ => SystemStat()),
            ["version"] = () => File(_ => $"Linux version {OsRelease} (runsc-net@runsc-net) {KernelVersion}\n"),
            ["filesystems"] = Text("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevpts\nnodev\tmqueue\nnodev\t9p\n"),
            ["mounts"] = () => new ProcSymlink(this, _ => "self/mounts", size: 11),
            ["net"] = () => new ProcSymlink(this, _ => "self/net", size: 8),
            ["sys"] = () => SysctlDirectory(sys, ""),
            ["cmdline"] = Text("BOOT_IMAGE=/vmlinuz-runsc-net\n"),
        };
    }

    /// <summary>linux.sysctl entries the Sentry serves itself: path below /proc/sys → value.</summary>
    public static IReadOnlyDictionary<string, string> SpecSysctls { get; set; } = new Dictionary<string, string>();

    /// <summary>The entries of linux.sysctl that are the Sentry's own (not net.*, which live in the host's network namespace).</summary>
    public static Dictionary<string, string> SentrySysctls(StateFile.Oci.Spec spec)
    {
        var own = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in spec.Linux?.Sysctl ?? [])
        {
            string path = key.Replace('.', '/');
            if (path.StartsWith("kernel/", StringComparison.Ordinal) || path.StartsWith("fs/mqueue/", StringComparison.Ordinal)) own[path] = value;
        }
        return own;
    }

    /// <summary>
    /// Where the Sentry reads the host's sysctls: /proc/sys of its own proc (the empty root's; the
    /// global values are the host's, the net ones those of the sandbox's network namespace).
    /// </summary>
    public const string HostProcSys = "/proc/sys";

    /// <summary>
    /// A /proc/sys directory: the sysctls the Sentry keeps itself (<paramref name="own"/>: the
    /// names it virtualizes, such as kernel/hostname and osrelease) over a read-only view of the
    /// host's same directory (<paramref name="hostPath"/> below /proc/sys), so the many values
    /// programs read (ip_local_port_range, somaxconn, inotify limits...) are the host's, as
    /// under runc, which mounts /proc/sys read-only.
    /// </summary>
    private ProcDirectory SysctlDirectory(IReadOnlyDictionary<string, Func<Inode>> own, string hostPath)
    {
        string HostDir() => hostPath.Length == 0 ? HostProcSys : HostProcSys + "/" + hostPath;
        return new ProcDirectory(this,
            () => own.Keys.Union(Host.HostViewInode.Names(HostDir())).Order(StringComparer.Ordinal),
            name => own.TryGetValue(name, out var make) ? make() : Host.HostViewInode.Child(this, HostDir(), name),
            mode: 0x16d);
    }

    private static string MemInfo()
    {
        var info = GC.GetGCMemoryInfo();
        long totalKb = Math.Max(info.TotalAvailableMemoryBytes / 1024, 1024 * 1024);
        long freeKb = totalKb * 3 / 4;
        var sb = new StringBuilder();
        void Line(string k, long kb) => sb.Append($"{k + ":",-16}{kb,8} kB\n");
        Line("MemTotal", totalKb);
        Line("MemFree", freeKb);
        Line("MemAvailable", freeKb);
        Line("Buffers", 0);
        Line("Cached", 0);
        Line("SwapCached", 0);
        Line("Active", totalKb - freeKb);
        Line("Inactive", 0);
        Line("SwapTotal", 0);
        Line("SwapFree", 0);
        Line("Dirty", 0);
        Line("Shmem", 0);
        Line("Slab", 0);
        Line("CommitLimit", totalKb);
        Line("Committed_AS", totalKb - freeKb);
        Line("VmallocTotal", 34359738367);
        Line("HugePages_Total", 0);
        Line("Hugepagesize", 2048);
        return sb.ToString().Replace("HugePages_Total:        0 kB", "HugePages_Total:       0");
    }

    private static string CpuInfo()
    {
        var sb = new StringBuilder();
        int n = Environment.ProcessorCount;
        for (int i = 0; i < n; i++)
        {
            sb.Append($"processor\t: {i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n");
            sb.Append($"model name\t: runsc-net virtual CPU\nstepping\t: 7\ncpu MHz\t\t: 2000.000\ncache size\t: 8192 KB\n");
            sb.Append($"physical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {i}\ncpu cores\t: {n}\napicid\t\t: {i}\n");
            sb.Append("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n");
            sb.Append("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch fsgsbase bmi1 avx2 smep bmi2 erms\n");
            sb.Append("bogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\npower management:\n\n");
        }
        return sb.ToString();
    }

    private string SystemStat()
    {
        long ticks = (long)(UptimeSeconds * 100);
        var sb = new StringBuilder();
        sb.Append($"cpu  {ticks / 10} 0 {ticks / 20} {ticks * Environment.ProcessorCount} 0 0 0 0 0 0\n");
        for (int i = 0; i < Environment.ProcessorCount; i++) sb.Append($"cpu{i} {ticks / 10} 0 {ticks / 20} {ticks} 0 0 0 0 0 0\n");
        var procs = Processes().ToList();
        sb.Append($"intr 0\nctxt 0\nbtime {s_bootEpochSeconds}\nprocesses {procs.Count}\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n");
        return sb.ToString();
    }
}
