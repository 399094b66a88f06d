using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Fields of the spec's process object as runc applies them: the five capability sets (ambient
/// too), oomScoreAdj in the container and on the host, and the values that cannot be mapped to a
/// kernel interface refused at create with one clear line.
/// </summary>
public sealed class ProcessSpecTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private string Bundle(Action<JsonNode> adjust, params string[] args)
    {
        string bundle = Bundles.Make(args);
        _bundles.Add(bundle);
        string path = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        adjust(config);
        File.WriteAllText(path, config.ToJsonString());
        return bundle;
    }

    private static void Caps(JsonNode config, string[] sets, params string[] caps)
    {
        var o = new JsonObject();
        foreach (string set in new[] { "bounding", "effective", "permitted", "inheritable", "ambient" })
            o[set] = new JsonArray((sets.Contains(set) ? caps : []).Select(c => (JsonNode)JsonValue.Create(c)!).ToArray());
        config["process"]!["capabilities"] = o;
    }

    private static Dictionary<string, string> Status(string stdout) =>
        stdout.Split('\n').Where(l => l.StartsWith("Cap", StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..].Trim());

    [IntegrationFact(needsRootfs: true)]
    public void AmbientCapabilitiesReachANonRootProcessAsWithRunc()
    {
        string bundle = Bundle(c =>
        {
            c["process"]!["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
            Caps(c, ["bounding", "effective", "permitted", "inheritable", "ambient"], "CAP_NET_BIND_SERVICE");
        }, "cat", "/proc/self/status");
        var status = Status(_runsc.Run("run", "--bundle", bundle, "ambient").AssertSuccess().Stdout);
        Assert.Equal("0000000000000400", status["CapAmb"]);
        Assert.Equal("0000000000000400", status["CapEff"]);
        Assert.Equal("0000000000000400", status["CapPrm"]);
        Assert.Equal("0000000000000400", status["CapBnd"]);
    }

    [IntegrationFact(needsRootfs: true)]
    public void WithoutAmbientANonRootProcessLosesItsCapabilitiesAtExecAsOnLinux()
    {
        // runc sets the sets and then execs the process: for a non-root user the kernel keeps only
        // the ambient set, so effective capabilities in the spec alone give nothing.
        string bundle = Bundle(c =>
        {
            c["process"]!["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
            Caps(c, ["bounding", "effective", "permitted", "inheritable"], "CAP_CHOWN");
        }, "sh", "-c", "grep Cap /proc/self/status; touch /tmp/f; chown 0 /tmp/f; echo chown=$?");
        var r = _runsc.Run("run", "--bundle", bundle, "noambient");
        var status = Status(r.Stdout);
        Assert.Equal("0000000000000000", status["CapEff"]);
        Assert.Equal("0000000000000000", status["CapPrm"]);
        Assert.Equal("0000000000000001", status["CapInh"]);
        Assert.Contains("chown=1", r.Stdout);
    }

    /// <summary>
    /// containerd writes `"capabilities": {}` for a container that drops ALL (Go omits the empty
    /// lists): every set is empty, as under runc; only a spec without the object keeps root's.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void ACapabilitiesObjectWithoutListsMeansNoCapabilities()
    {
        string bundle = Bundle(c => c["process"]!["capabilities"] = new JsonObject(), "cat", "/proc/self/status");
        var status = Status(_runsc.Run("run", "--bundle", bundle, "dropall").AssertSuccess().Stdout);
        Assert.Equal("0000000000000000", status["CapBnd"]);
        Assert.Equal("0000000000000000", status["CapEff"]);
        Assert.Equal("0000000000000000", status["CapPrm"]);
    }

    [IntegrationFact(needsRootfs: true)]
    public void OomScoreAdjIsSeenInsideAndOnTheHostProcess()
    {
        string bundle = Bundle(c => c["process"]!["oomScoreAdj"] = 500, "sh", "-c", "cat /proc/self/oom_score_adj; sleep 60");
        _runsc.Run("create", "--bundle", bundle, "oom").AssertSuccess();
        int pid = JsonDocument.Parse(_runsc.Run("state", "oom").AssertSuccess().Stdout).RootElement.GetProperty("pid").GetInt32();
        Assert.Equal("500", File.ReadAllText($"/proc/{pid}/oom_score_adj").Trim());
        _runsc.Run("delete", "--force", "oom");

        // Inside: the init's value; a process without CAP_SYS_RESOURCE may raise it but not go below it.
        string inside = Bundle(c => c["process"]!["oomScoreAdj"] = 200, "sh", "-c",
            "cat /proc/self/oom_score_adj; echo 300 > /proc/self/oom_score_adj; cat /proc/self/oom_score_adj; " +
            "echo 100 > /proc/self/oom_score_adj; echo lower=$?; echo 2000 > /proc/self/oom_score_adj; echo range=$?");
        var r = _runsc.Run("run", "--bundle", inside, "oominside").AssertSuccess();
        Assert.StartsWith("200\n300\n", r.Stdout);
        Assert.Contains("lower=1", r.Stdout);
        Assert.Contains("range=1", r.Stdout);
    }

    [IntegrationFact]
    public void ValuesWithoutAKernelInterfaceAreRefusedAtCreate()
    {
        var cases = new (Action<JsonNode> Adjust, string Expected)[]
        {
            (c => Caps(c, ["bounding"], "CAP_TEST"), "unknown capability \"CAP_TEST\""),
            (c => Caps(c, ["ambient"], "CAP_NOPE"), "unknown capability \"CAP_NOPE\""),
            (c => c["process"]!["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_TEST", ["hard"] = 1, ["soft"] = 1 }), "unknown rlimit type \"RLIMIT_TEST\""),
            (c => c["process"]!["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = 10, ["soft"] = 20 }), "above its hard limit"),
            (c => c["process"]!["oomScoreAdj"] = 1001, "outside [-1000, 1000]"),
            (c => c["process"]!["apparmorProfile"] = "runsc-test", "apparmorProfile"),
            (c => c["process"]!["selinuxLabel"] = "system_u:system_r:container_t:s0", "selinuxLabel"),
        };
        int i = 0;
        foreach (var (adjust, expected) in cases)
        {
            string bundle = Bundle(adjust, "true");
            string id = "refused" + i++;
            string error = _runsc.Run("create", "--bundle", bundle, id).AssertOneLineError();
            Assert.Contains(expected, error);
            Assert.NotEqual(0, _runsc.Run("state", id).ExitCode);
        }
    }
}
