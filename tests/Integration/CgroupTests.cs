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
}
