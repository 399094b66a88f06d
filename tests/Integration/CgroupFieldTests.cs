using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Each linux.resources field lands in the file of the sandbox's cgroup that runc writes
/// (read back on the host through the cgroup of `state`'s pid, as the OCI validation suite
/// does), the sandbox joins every hierarchy runc joins, and the container reads the same values
/// in its own read-only /sys/fs/cgroup. Where the host lacks the hierarchy or the kernel file,
/// create must fail naming the field, as runc does (never a silently dropped limit).
/// These are cgroup v1 tests (the files named are v1's): on a v2 host they are skipped.
/// </summary>
public sealed class CgroupFieldTests : IDisposable
{
    private const string V1Only = "/sys/fs/cgroup/memory/memory.limit_in_bytes";
    private readonly RunscNetBinary _runsc = new();
    private readonly string _bundle = Bundles.Make("sleep", "60");
    private readonly string _cgroup = "/runsc-net-tests/" + Guid.NewGuid().ToString("N")[..12];

    public void Dispose()
    {
        _runsc.Dispose();
        Directory.Delete(_bundle, recursive: true);
    }

    private JsonNode Config() => JsonNode.Parse(File.ReadAllText(Path.Combine(_bundle, "config.json")))!;

    private void Save(JsonNode config) => File.WriteAllText(Path.Combine(_bundle, "config.json"), config.ToJsonString());

    private JsonNode WithResources(JsonObject resources, string? cgroupsPath = null)
    {
        var config = Config();
        config["linux"]!["cgroupsPath"] = cgroupsPath ?? _cgroup;
        config["linux"]!["resources"] = resources;
        return config;
    }

    private int StatePid(string id) =>
        JsonDocument.Parse(_runsc.Run("state", id).AssertSuccess().Stdout).RootElement.GetProperty("pid").GetInt32();

    /// <summary>The host directory of <paramref name="pid"/>'s cgroup in <paramref name="controller"/>'s hierarchy (mounted at /sys/fs/cgroup/CONTROLLER here).</summary>
    private static string HostDir(int pid, string controller)
    {
        foreach (string line in File.ReadAllLines($"/proc/{pid}/cgroup"))
        {
            string[] parts = line.Split(':', 3);
            if (parts[1].Split(',').Contains(controller)) return $"/sys/fs/cgroup/{controller}{parts[2]}";
        }
        throw new Xunit.Sdk.XunitException($"pid {pid} is in no {controller} cgroup");
    }

    private static string Read(string file) => File.ReadAllText(file).Trim();

    [IntegrationFact(needsFiles: V1Only + " /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpu/cpu.shares")]
    public void CpusetAndCpuFieldsAreApplied()
    {
        Save(WithResources(new JsonObject
        {
            ["cpu"] = new JsonObject
            {
                ["shares"] = 2048, ["period"] = 500000, ["quota"] = 200000, ["cpus"] = "0", ["mems"] = "0",
                ["realtimePeriod"] = 1000000,
            },
        }));
        _runsc.Run("create", "--bundle", _bundle, "cpu").AssertSuccess();
        int pid = StatePid("cpu");
        string cpu = HostDir(pid, "cpu"), cpuset = HostDir(pid, "cpuset");
        Assert.Equal("/sys/fs/cgroup/cpu" + _cgroup, cpu);
        Assert.Equal("/sys/fs/cgroup/cpuset" + _cgroup, cpuset);
        Assert.Equal("2048", Read(cpu + "/cpu.shares"));
        Assert.Equal("500000", Read(cpu + "/cpu.cfs_period_us"));
        Assert.Equal("200000", Read(cpu + "/cpu.cfs_quota_us"));
        Assert.Equal("1000000", Read(cpu + "/cpu.rt_period_us"));
        Assert.Equal("0", Read(cpuset + "/cpuset.cpus"));
        Assert.Equal("0", Read(cpuset + "/cpuset.mems"));
        // The cpuset confines boot itself: its host affinity is CPU 0 only.
        Assert.Contains(File.ReadAllLines($"/proc/{pid}/status"), l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal) && l.EndsWith("\t0", StringComparison.Ordinal));

        // update reaches the new fields too.
        string resources = Path.Combine(_bundle, "resources.json");
        File.WriteAllText(resources, "{\"cpu\":{\"cpus\":\"0-1\",\"shares\":512}}");
        if (Environment.ProcessorCount > 1)
        {
            _runsc.Run("update", "-r", resources, "cpu").AssertSuccess();
            Assert.Equal("0-1", Read(cpuset + "/cpuset.cpus"));
            Assert.Equal("512", Read(cpu + "/cpu.shares"));
        }
        _runsc.Run("delete", "--force", "cpu").AssertSuccess();
        Assert.False(Directory.Exists(cpuset));
        Assert.False(Directory.Exists(cpu));
    }

    [IntegrationFact(needsFiles: V1Only)]
    public void TheSandboxJoinsEveryMountedHierarchy()
    {
        Save(WithResources(new JsonObject { ["pids"] = new JsonObject { ["limit"] = 100 } }));
        _runsc.Run("create", "--bundle", _bundle, "joined").AssertSuccess();
        int pid = StatePid("joined");
        var lines = File.ReadAllLines($"/proc/{pid}/cgroup");
        // Every v1 hierarchy the host mounts (cpuset, devices and the named systemd one included),
        // as runc: only the controller-less cgroup2 of a hybrid host (0::) is left as it was.
        var mounted = File.ReadAllLines("/proc/self/mountinfo").Count(l => l.Contains(" - cgroup ", StringComparison.Ordinal));
        var joined = lines.Where(l => !l.StartsWith("0::", StringComparison.Ordinal)).ToList();
        Assert.True(joined.Count >= 1);
        Assert.All(joined, l => Assert.EndsWith(":" + _cgroup, l));
        Assert.Equal(mounted, joined.Count(l => l.Split(':')[1].Length > 0));
        // The gofer is there too (runc's container process is its only process; both of ours are).
        int gofer = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(_runsc.Root, "*.state").Single())).RootElement.GetProperty("goferPid").GetInt32();
        Assert.Equal(lines, File.ReadAllLines($"/proc/{gofer}/cgroup"));
        _runsc.Run("delete", "--force", "joined").AssertSuccess();
    }

    [IntegrationFact(needsFiles: V1Only + " /sys/fs/cgroup/memory/memory.swappiness")]
    public void MemoryFieldsAreAppliedAndVisibleInside()
    {
        const long limit = 96L << 20, tcp = 16L << 20;
        var config = WithResources(new JsonObject
        {
            ["memory"] = new JsonObject
            {
                ["limit"] = limit, ["reservation"] = limit / 2, ["swap"] = limit * 2, ["kernel"] = limit, ["kernelTCP"] = tcp,
                ["swappiness"] = 10, ["disableOOMKiller"] = true,
            },
        });
        config["process"]!["args"] = new JsonArray("sh", "-c",
            "cat /sys/fs/cgroup/memory/memory.swappiness /sys/fs/cgroup/memory/memory.soft_limit_in_bytes; head -1 /sys/fs/cgroup/memory/memory.oom_control; sleep 60");
        Save(config);
        string stdout = Path.Combine(_bundle, "out"), stderr = Path.Combine(_bundle, "err");
        var create = _runsc.RunTo(stdout, stderr, TimeSpan.FromSeconds(60), "run", "--detach", "--bundle", _bundle, "mem");
        Assert.Equal(0, create.ExitCode);
        int pid = StatePid("mem");
        string dir = HostDir(pid, "memory");
        Assert.Equal("/sys/fs/cgroup/memory" + _cgroup, dir);
        Assert.Equal(limit.ToString(), Read(dir + "/memory.limit_in_bytes"));
        Assert.Equal((limit / 2).ToString(), Read(dir + "/memory.soft_limit_in_bytes"));
        Assert.Equal((limit * 2).ToString(), Read(dir + "/memory.memsw.limit_in_bytes"));
        Assert.Equal("10", Read(dir + "/memory.swappiness"));
        Assert.StartsWith("oom_kill_disable 1", Read(dir + "/memory.oom_control"));
        // Kernel memory: applied where the kernel limits it, else a warning on stderr (Linux
        // 5.16+ accepts and ignores memory.kmem.limit_in_bytes); TCP buffers likewise.
        string log = File.ReadAllText(stderr);
        AssertAppliedOrWarned(dir + "/memory.kmem.limit_in_bytes", limit, "linux.resources.memory.kernel ignored", log);
        AssertAppliedOrWarned(dir + "/memory.kmem.tcp.limit_in_bytes", tcp, "linux.resources.memory.kernelTCP ignored", log);

        // The container sees the same values in its read-only /sys/fs/cgroup.
        string seen = "";
        for (int i = 0; i < 100 && seen.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < 3; i++)
        {
            Thread.Sleep(100);
            seen = File.ReadAllText(stdout);
        }
        Assert.Equal(["10", (limit / 2).ToString(), "oom_kill_disable 1"], seen.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        _runsc.Run("delete", "--force", "mem").AssertSuccess();
    }

    private static void AssertAppliedOrWarned(string file, long value, string warning, string stderr)
    {
        if (!File.Exists(file) || Read(file) != value.ToString()) Assert.Contains(warning, stderr);
        else Assert.DoesNotContain(warning, stderr);
    }

    [IntegrationFact(needsFiles: V1Only)]
    public void ARelativePathLiesBelowTheCreatorsOwnCgroup()
    {
        // runc's cgroupfs rule: a relative cgroupsPath is joined to the runtime's own cgroup in
        // each hierarchy (here the test runner's memory cgroup may not be the root).
        string relative = "runsc-net-tests-rel/" + Guid.NewGuid().ToString("N")[..12];
        Save(WithResources(new JsonObject { ["memory"] = new JsonObject { ["limit"] = 64L << 20 } }, relative));
        _runsc.Run("create", "--bundle", _bundle, "rel").AssertSuccess();
        int pid = StatePid("rel");
        var own = File.ReadAllLines("/proc/self/cgroup").ToDictionary(l => l.Split(':', 3)[1], l => l.Split(':', 3)[2]);
        foreach (string line in File.ReadAllLines($"/proc/{pid}/cgroup").Where(l => !l.StartsWith("0::", StringComparison.Ordinal)))
        {
            string[] parts = line.Split(':', 3);
            Assert.Equal((own[parts[1]].TrimEnd('/') + "/" + relative), parts[2]);
        }
        string memory = HostDir(pid, "memory");
        Assert.Equal((64L << 20).ToString(), Read(memory + "/memory.limit_in_bytes"));
        _runsc.Run("delete", "--force", "rel").AssertSuccess();
        Assert.False(Directory.Exists(memory));
    }

    [IntegrationFact(needsFiles: "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device")]
    public void BlockIoThrottlesAreAppliedAndWeightsNeedAScheduler()
    {
        // A block device the host has (the throttle files take only existing ones).
        string dev = Read(Directory.GetDirectories("/sys/block").Select(d => d + "/dev").First(File.Exists));
        var (major, minor) = (long.Parse(dev.Split(':')[0]), long.Parse(dev.Split(':')[1]));
        JsonObject Throttle(long rate) => new() { ["major"] = major, ["minor"] = minor, ["rate"] = rate };
        Save(WithResources(new JsonObject
        {
            ["blockIO"] = new JsonObject
            {
                ["throttleReadBpsDevice"] = new JsonArray(Throttle(102400)), ["throttleWriteBpsDevice"] = new JsonArray(Throttle(204800)),
                ["throttleReadIOPSDevice"] = new JsonArray(Throttle(300)), ["throttleWriteIOPSDevice"] = new JsonArray(Throttle(400)),
            },
        }));
        _runsc.Run("create", "--bundle", _bundle, "blkio").AssertSuccess();
        string dir = HostDir(StatePid("blkio"), "blkio");
        Assert.Equal($"{dev} 102400", Read(dir + "/blkio.throttle.read_bps_device"));
        Assert.Equal($"{dev} 204800", Read(dir + "/blkio.throttle.write_bps_device"));
        Assert.Equal($"{dev} 300", Read(dir + "/blkio.throttle.read_iops_device"));
        Assert.Equal($"{dev} 400", Read(dir + "/blkio.throttle.write_iops_device"));
        _runsc.Run("delete", "--force", "blkio").AssertSuccess();

        Save(WithResources(new JsonObject { ["blockIO"] = new JsonObject { ["weight"] = 500 } }));
        string root = "/sys/fs/cgroup/blkio";
        if (File.Exists(root + "/blkio.weight") || File.Exists(root + "/blkio.bfq.weight"))
        {
            _runsc.Run("create", "--bundle", _bundle, "weight").AssertSuccess();
            string weightDir = HostDir(StatePid("weight"), "blkio");
            Assert.Equal("500", Read(weightDir + (File.Exists(weightDir + "/blkio.weight") ? "/blkio.weight" : "/blkio.bfq.weight")).Split('\n')[0].Split(' ').Last());
        }
        else
        {
            // No CFQ/BFQ scheduler: runc fails too (openat2 .../blkio.bfq.weight: no such file).
            Assert.Contains("linux.resources.blockIO.weight", _runsc.Run("create", "--bundle", _bundle, "weight").AssertOneLineError());
            Assert.False(Directory.Exists(root + _cgroup));
        }
    }

    [IntegrationFact(needsFiles: V1Only)]
    public void HugetlbLimitsApplyOrAreRefusedWithoutTheHierarchy()
    {
        string? size = Directory.Exists("/sys/kernel/mm/hugepages")
            ? Directory.GetDirectories("/sys/kernel/mm/hugepages").Select(Path.GetFileName).Select(n => HugePageSize(n!)).FirstOrDefault()
            : null;
        Save(WithResources(new JsonObject
        {
            ["hugepageLimits"] = new JsonArray(new JsonObject { ["pageSize"] = size ?? "2MB", ["limit"] = 4L << 21 }),
        }));
        if (Directory.Exists("/sys/fs/cgroup/hugetlb") && size != null)
        {
            _runsc.Run("create", "--bundle", _bundle, "huge").AssertSuccess();
            Assert.Equal((4L << 21).ToString(), Read(HostDir(StatePid("huge"), "hugetlb") + $"/hugetlb.{size}.limit_in_bytes"));
        }
        else
        {
            // As runc: "cannot set hugetlb limit: container could not join or create cgroup".
            string error = _runsc.Run("create", "--bundle", _bundle, "huge").AssertOneLineError();
            Assert.Contains("hugepageLimits", error);
            Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + _cgroup));
        }
    }

    // "hugepages-2048kB" -> "2MB", the spec's (and the hugetlb files') form.
    private static string HugePageSize(string name)
    {
        long kb = long.Parse(name["hugepages-".Length..^2]);
        return kb >= 1 << 20 ? $"{kb >> 20}GB" : kb >= 1 << 10 ? $"{kb >> 10}MB" : $"{kb}KB";
    }

    [IntegrationFact(needsFiles: V1Only)]
    public void NetworkClassesApplyOrAreRefusedWithoutTheHierarchies()
    {
        Save(WithResources(new JsonObject
        {
            ["network"] = new JsonObject
            {
                ["classID"] = 1048577,
                ["priorities"] = new JsonArray(new JsonObject { ["name"] = "lo", ["priority"] = 7 }),
            },
        }));
        bool netCls = Directory.Exists("/sys/fs/cgroup/net_cls") || Directory.Exists("/sys/fs/cgroup/net_cls,net_prio");
        bool netPrio = Directory.Exists("/sys/fs/cgroup/net_prio") || Directory.Exists("/sys/fs/cgroup/net_cls,net_prio");
        if (netCls && netPrio)
        {
            _runsc.Run("create", "--bundle", _bundle, "net").AssertSuccess();
            int pid = StatePid("net");
            Assert.Equal("1048577", Read(HostDir(pid, "net_cls") + "/net_cls.classid"));
            Assert.Contains("lo 7", File.ReadAllLines(HostDir(pid, "net_prio") + "/net_prio.ifpriomap"));
        }
        else
        {
            Assert.Contains(netCls ? "network.priorities" : "network.classID", _runsc.Run("create", "--bundle", _bundle, "net").AssertOneLineError());
        }
    }

    [IntegrationFact(needsFiles: V1Only)]
    public void OutOfRangeValuesAreRefused()
    {
        Save(WithResources(new JsonObject { ["memory"] = new JsonObject { ["swappiness"] = 101 } }));
        Assert.Contains("swappiness", _runsc.Run("create", "--bundle", _bundle, "bad").AssertOneLineError());
        Save(WithResources(new JsonObject { ["cpu"] = new JsonObject { ["shares"] = 1 } }));
        Assert.Contains("cpu.shares", _runsc.Run("create", "--bundle", _bundle, "bad").AssertOneLineError());
        Save(WithResources(new JsonObject { ["unified"] = new JsonObject { ["memory.max"] = "1000000" } }));
        Assert.Contains("unified", _runsc.Run("create", "--bundle", _bundle, "bad").AssertOneLineError());
        Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + _cgroup));
    }
}
