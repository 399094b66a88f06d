using System.Text.Json.Nodes;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Integration;

/// <summary>
/// The Sentry's dentry cache and the gofer's open handles stay bounded (DentryCache, the gofer's
/// HandleTable cap): with the runtime — and so the gofer and boot it spawns — under
/// RLIMIT_NOFILE 1024 (`prlimit`), listing a directory of 3000 files and walking 100 000 files
/// of a bind-mounted host tree work, and the gofer's fd count does not grow with the tree.
/// </summary>
public sealed class BoundedCacheTests : IDisposable
{
    private const string NoFile = "--nofile=1024:1024";
    private readonly RunscNetBinary _runsc = new() { Wrapper = ["prlimit", NoFile, "--"] };
    private readonly List<string> _dirs = [];
    private readonly ITestOutputHelper _out;

    public BoundedCacheTests(ITestOutputHelper output) => _out = output;

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs)
        {
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>A host directory with <paramref name="perDir"/> empty files in each of <paramref name="dirs"/> subdirectories (or directly, for 0).</summary>
    private string MakeTree(int dirs, int perDir)
    {
        string root = Directory.CreateTempSubdirectory("runsc-net-tree-").FullName;
        _dirs.Add(root);
        for (int d = 0; d < Math.Max(dirs, 1); d++)
        {
            string dir = dirs == 0 ? root : Path.Combine(root, $"d{d:D3}");
            Directory.CreateDirectory(dir);
            for (int i = 0; i < perDir; i++) File.Create(Path.Combine(dir, $"f{i:D5}")).Dispose();
        }
        return root;
    }

    private string Bundle(string data, params string[] args)
    {
        string b = Bundles.Make(args);
        _dirs.Add(b);
        string configPath = Path.Combine(b, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["readonly"] = true;
        config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/data", ["type"] = "bind", ["source"] = data,
            ["options"] = new JsonArray("rbind", "rw"),
        });
        File.WriteAllText(configPath, config.ToJsonString());
        return b;
    }

    [IntegrationFact(needsRootfs: true, needsTools: "prlimit")]
    public void ListingThreeThousandFilesWorksWithAThousandFds()
    {
        string data = MakeTree(0, 3000);
        var r = _runsc.Run("run", "--bundle", Bundle(data, "sh", "-c", "ls /data | wc -l; ls -l /data | grep -c f0"), "ls3000");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stdout}{r.Stderr}");
        Assert.Equal("3000\n3000\n", r.Stdout);
        Assert.DoesNotContain("Too many open files", r.Stderr);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "prlimit")]
    public void WalkingAHundredThousandFilesKeepsTheGofersFdsFlat()
    {
        string data = MakeTree(100, 1000);
        _runsc.Run("run", "--detach", "--bundle", Bundle(data, "sleep", "600"), "walk100k").AssertSuccess();
        var state = JsonNode.Parse(File.ReadAllText(Directory.GetFiles(_runsc.Root, "walk100k_sand:*.state").Single()))!;
        int gofer = state["goferPid"]!.GetValue<int>();
        int boot = state["pid"]!.GetValue<int>();
        Assert.True(gofer > 0 && boot > 0, state.ToJsonString());
        Assert.Equal("1024", Limit(gofer));

        // 10 000 files (ten directories), then all 100 000.
        var first = _runsc.Run("exec", "walk100k", "sh", "-c", "find /data/d00? | wc -l");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal("10010", first.Stdout.Trim());
        (int fds10k, long rss10k) = (Fds(gofer), RssKb(boot));
        var all = _runsc.Run("exec", "walk100k", "sh", "-c", "find /data | wc -l");
        Assert.True(all.ExitCode == 0, all.Stderr);
        Assert.Equal("100101", all.Stdout.Trim());
        Assert.DoesNotContain("Too many open files", all.Stderr);
        // Stat every file too (find -type f reads each entry's type; ls -lR stats each).
        var stat = _runsc.Run("exec", "walk100k", "sh", "-c", "ls -lR /data | grep -c '^-'");
        Assert.True(stat.ExitCode == 0, stat.Stderr);
        Assert.Equal("100000", stat.Stdout.Trim());
        (int fds100k, long rss100k) = (Fds(gofer), RssKb(boot));
        _out.WriteLine($"gofer fds: {fds10k} after 10 000 files, {fds100k} after 100 000 (+ls -lR); boot RSS: {rss10k} KiB, {rss100k} KiB");

        // The gofer's handle cap for RLIMIT_NOFILE 1024 is 1024 - 64 - 128 = 832 fds of handles.
        Assert.True(fds100k < 1024 - 64, $"gofer holds {fds100k} fds");
        Assert.True(fds100k <= fds10k + 64, $"gofer fds grew from {fds10k} to {fds100k}");
        _runsc.Run("kill", "walk100k", "KILL");
    }

    private static string Limit(int pid) =>
        File.ReadAllLines($"/proc/{pid}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];

    private static int Fds(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    private static long RssKb(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
}
