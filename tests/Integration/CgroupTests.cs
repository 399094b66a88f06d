using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>linux.resources land in the sandbox's cgroup; events --stats reads it; delete removes it.</summary>
public sealed class CgroupTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly string _bundle = Bundles.Make("sleep", "60");
    private readonly string _cgroup = "/runsc-net-tests/" + Guid.NewGuid().ToString("N")[..12];

    public void Dispose()
    {
        _runsc.Dispose();
        Directory.Delete(_bundle, recursive: true);
    }

    [IntegrationFact]
    public void ResourcesAreAppliedAndReported()
    {
        bool v2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        string memoryDir = v2 ? "/sys/fs/cgroup" + _cgroup : "/sys/fs/cgroup/memory" + _cgroup;
        string configPath = Path.Combine(_bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["linux"]!["cgroupsPath"] = _cgroup;
        config["linux"]!["resources"] = new JsonObject
        {
            ["memory"] = new JsonObject { ["limit"] = 256L << 20 },
            ["pids"] = new JsonObject { ["limit"] = 200 },
        };
        File.WriteAllText(configPath, config.ToJsonString());

        _runsc.Run("create", "--bundle", _bundle, "limited").AssertSuccess();
        string limit = File.ReadAllText(Path.Combine(memoryDir, v2 ? "memory.max" : "memory.limit_in_bytes")).Trim();
        Assert.Equal((256L << 20).ToString(), limit);
        int pid = JsonDocument.Parse(_runsc.Run("state", "limited").Stdout).RootElement.GetProperty("pid").GetInt32();
        Assert.Contains(pid.ToString(), File.ReadAllLines(Path.Combine(memoryDir, "cgroup.procs")));

        var stats = JsonDocument.Parse(_runsc.Run("events", "--stats", "limited").AssertSuccess().Stdout).RootElement;
        Assert.Equal("stats", stats.GetProperty("type").GetString());
        Assert.Equal(256UL << 20, stats.GetProperty("data").GetProperty("memory").GetProperty("usage").GetProperty("limit").GetUInt64());
        Assert.True(stats.GetProperty("data").GetProperty("pids").GetProperty("current").GetUInt64() >= 1);

        _runsc.Run("delete", "--force", "limited").AssertSuccess();
        Assert.False(Directory.Exists(memoryDir));
    }
    [IntegrationFact]
    public void TheContainerSeesItsOwnCgroupReadOnlyAtItsNamespaceRoot()
    {
        // As under runc with a cgroup namespace: /proc/self/cgroup names each hierarchy at "/",
        // the cgroup mount shows the sandbox's own limits (what the JVM, .NET and Go read), and
        // the limits cannot be raised from inside.
        bool v2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        string memoryFile = v2 ? "/sys/fs/cgroup/memory.max" : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
        string pidsFile = v2 ? "/sys/fs/cgroup/pids.max" : "/sys/fs/cgroup/pids/pids.max";
        string configPath = Path.Combine(_bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["args"] = new JsonArray("sh", "-c",
            $"cat /proc/self/cgroup; echo limits $(cat {memoryFile} {pidsFile}); echo 1000 > {pidsFile} || echo refused; echo still $(cat {pidsFile})");
        config["linux"]!["cgroupsPath"] = _cgroup;
        config["linux"]!["resources"] = new JsonObject
        {
            ["memory"] = new JsonObject { ["limit"] = 96L << 20 },
            ["pids"] = new JsonObject { ["limit"] = 123 },
        };
        File.WriteAllText(configPath, config.ToJsonString());

        var r = _runsc.Run("run", "--bundle", _bundle, "own-cgroup").AssertSuccess();
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var cgroupLines = lines.TakeWhile(l => !l.StartsWith("limits", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(cgroupLines);
        Assert.All(cgroupLines, l => Assert.EndsWith(":/", l));
        Assert.Contains($"limits {96L << 20} 123", lines);
        Assert.Contains("refused", lines);
        Assert.Contains("still 123", lines);
    }

    [IntegrationFact]
    public void UpdateChangesTheLimitsOfARunningContainer()
    {
        bool v2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        string memoryFile = v2 ? $"/sys/fs/cgroup{_cgroup}/memory.max" : $"/sys/fs/cgroup/memory{_cgroup}/memory.limit_in_bytes";
        string pidsFile = v2 ? $"/sys/fs/cgroup{_cgroup}/pids.max" : $"/sys/fs/cgroup/pids{_cgroup}/pids.max";
        string configPath = Path.Combine(_bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["linux"]!["cgroupsPath"] = _cgroup;
        config["linux"]!["resources"] = new JsonObject { ["memory"] = new JsonObject { ["limit"] = 256L << 20 } };
        File.WriteAllText(configPath, config.ToJsonString());
        _runsc.Run("run", "--detach", "--bundle", _bundle, "updated").AssertSuccess();

        // runc's flags...
        _runsc.Run("update", "--memory", "300m", "--pids-limit", "77", "updated").AssertSuccess();
        Assert.Equal((300L << 20).ToString(), File.ReadAllText(memoryFile).Trim());
        Assert.Equal("77", File.ReadAllText(pidsFile).Trim());
        // ...and containerd's JSON file.
        string resources = Path.Combine(_bundle, "resources.json");
        File.WriteAllText(resources, "{\"memory\":{\"limit\":" + (128L << 20) + "},\"pids\":{\"limit\":55}}");
        _runsc.Run("update", "-r", resources, "updated").AssertSuccess();
        Assert.Equal((128L << 20).ToString(), File.ReadAllText(memoryFile).Trim());
        Assert.Equal("55", File.ReadAllText(pidsFile).Trim());

        File.WriteAllText(resources, "{\"memory\": ");
        Assert.Contains("malformed resources JSON", _runsc.Run("update", "-r", resources, "updated").AssertOneLineError());
        Assert.Contains("not a size", _runsc.Run("update", "--memory", "lots", "updated").AssertOneLineError());
        _runsc.Run("delete", "--force", "updated").AssertSuccess();
        Assert.Contains("does not exist", _runsc.Run("update", "--memory", "1g", "updated").AssertOneLineError());
    }
}
