using System.Text.Json;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// The host side of the sandbox's processes, seen from outside while a container runs: boot (the
/// Sentry) runs as an unprivileged host uid in a user namespace of its own (so whatever
/// capabilities it holds count there only), in an empty read-only root, with no_new_privs and
/// its allow-list seccomp filter on every thread, holding no host directory; every stub runs as
/// that uid too with no capability at all, no_new_privs, seccomp (its own filter and boot's), and
/// only its channel fd. And the container still works.
/// </summary>
public sealed class SentryConfinementTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private string Bundle(params string[] args)
    {
        string b = Bundles.Make(args);
        _bundles.Add(b);
        return b;
    }

    private static Dictionary<string, string>? Status(string dir)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(dir, "status")).Select(l => l.Split(':', 2)).Where(f => f.Length == 2)
                .ToDictionary(f => f[0], f => f[1].Trim());
        }
        catch (IOException)
        {
            return null;    // a thread or process that ended since the listing
        }
    }

    private static ulong Hex(string s) => Convert.ToUInt64(s, 16);

    /// <summary>Host pids whose parent is <paramref name="pid"/> (the stubs are all children of boot: CLONE_PARENT).</summary>
    private static List<int> ChildrenOf(int pid)
    {
        var result = new List<int>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int p)) continue;
            if (Status(dir) is { } st && st.TryGetValue("PPid", out var ppid) && ppid == pid.ToString()) result.Add(p);
        }
        return result;
    }

    private static void AssertUnprivilegedUser(Dictionary<string, string> status, string who)
    {
        foreach (string key in new[] { "Uid", "Gid" })
            Assert.True(status[key].Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries).All(id => id == "65534"), $"{who} {key}: {status[key]}");
        Assert.True(status["Groups"].Length == 0, $"{who} has supplementary groups {status["Groups"]}");
        Assert.Equal("1", status["NoNewPrivs"]);
        Assert.Equal("2", status["Seccomp"]);
    }

    [IntegrationFact(needsRootfs: true)]
    public void TheSentryAndItsStubsRunUnprivilegedConfinedAndTheContainerStillWorks()
    {
        // Two application processes (sh and sleep): two stubs besides boot. "up" is written once
        // sleep has been forked, so the exec below returns after both exist.
        string bundle = Bundle("sh", "-c", "cat /etc/passwd > /dev/null; sleep 100 & echo started > /dev/shm/up; wait; true");
        _runsc.Run("run", "--detach", "--bundle", bundle, "confined").AssertSuccess();
        int pid = JsonDocument.Parse(_runsc.Run("state", "confined").AssertSuccess().Stdout).RootElement.GetProperty("pid").GetInt32();
        Assert.Equal("started\n", _runsc.Run("exec", "confined", "sh", "-c", "while [ ! -e /dev/shm/up ]; do sleep 0.05; done; cat /dev/shm/up").AssertSuccess().Stdout);

        // The host's view of boot's root: a proc (and the read-only cgroup view), nothing of the host.
        string root = $"/proc/{pid}/root";
        string[] entries = Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order().ToArray()!;
        Assert.Contains("proc", entries);
        Assert.Empty(entries.Except(new[] { "proc", "cgroup" }));
        Assert.False(File.Exists(Path.Combine(root, "etc/passwd")));
        Assert.True(Directory.Exists(Path.Combine(root, "proc/1")));
        string mounts = File.ReadAllText($"/proc/{pid}/mounts");
        Assert.Contains(mounts.Split('\n'), l => l.Split(' ') is [_, "/", "tmpfs", var opts, ..] && opts.Split(',').Contains("ro"));

        // A user namespace of its own, where root is host uid 65534 alone; not ours.
        Assert.Equal("0 65534 1", string.Join(' ', File.ReadAllText($"/proc/{pid}/uid_map").Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("0 65534 1", string.Join(' ', File.ReadAllText($"/proc/{pid}/gid_map").Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("deny", File.ReadAllText($"/proc/{pid}/setgroups").Trim());
        Assert.NotEqual(new FileInfo("/proc/self/ns/user").ResolveLinkTarget(false)!.Name, new FileInfo($"/proc/{pid}/ns/user").ResolveLinkTarget(false)!.Name);

        // Every thread of boot: unprivileged host ids, no_new_privs, seccomp; its bounding set
        // (capabilities over its own namespaces only) without what it never uses.
        int threads = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            if (Status(task) is not { } status) continue;
            threads++;
            AssertUnprivilegedUser(status, $"boot thread {Path.GetFileName(task)}");
            ulong bounding = Hex(status["CapBnd"]);
            foreach (int cap in new[] { 0, 1, 2, 3, 4, 6, 7, 16, 17, 18, 25, 27, 31, 39 }) Assert.Equal(0UL, bounding & (1UL << cap));
            Assert.Equal(0UL, Hex(status["CapEff"]) & ~bounding);
            Assert.Equal(0UL, Hex(status["CapAmb"]));
        }
        Assert.True(threads > 0);

        // No host directory among boot's fds (O_PATH ones included: stat follows /proc/PID/fd/N).
        foreach (string fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
            Assert.False(Directory.Exists(fd), $"boot holds directory {new FileInfo(fd).LinkTarget} as fd {Path.GetFileName(fd)}");

        // The stubs: children of boot, same unprivileged ids, no capabilities at all, both filters.
        // The forked child becomes sleep by execve, which replaces its stub: wait out that moment.
        var stubs = ChildrenOf(pid);
        for (int i = 0; i < 300 && stubs.Count < 2; i++)
        {
            Thread.Sleep(100);
            stubs = ChildrenOf(pid);
        }
        Assert.True(stubs.Count >= 2, $"stubs of boot: {stubs.Count}");
        foreach (int stub in stubs)
        {
            if (Status($"/proc/{stub}") is not { } status) continue;
            AssertUnprivilegedUser(status, $"stub {stub}");
            foreach (string set in new[] { "CapInh", "CapPrm", "CapEff", "CapAmb" }) Assert.True(Hex(status[set]) == 0, $"stub {stub} {set} {status[set]}");
            Assert.True(int.Parse(status["Seccomp_filters"]) >= 2, $"stub {stub} filters {status["Seccomp_filters"]}");
            string[] fds;
            try { fds = Directory.GetFileSystemEntries($"/proc/{stub}/fd"); }
            catch (IOException) { continue; }
            foreach (string fd in fds)
            {
                string target = new FileInfo(fd).LinkTarget ?? "";
                Assert.True(target.StartsWith("socket:", StringComparison.Ordinal), $"stub {stub} fd {Path.GetFileName(fd)} -> {target}");
            }
        }

        _runsc.Run("kill", "confined", "KILL").AssertSuccess();
        _runsc.Run("delete", "--force", "confined").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void TheExitStatusReachesTheStateThroughTheExitRecord()
    {
        string bundle = Bundle("sh", "-c", "exit 7");
        Assert.Equal(7, _runsc.Run("run", "--bundle", bundle, "exits").ExitCode);
        // Detached: nobody waits on boot, so only the record written by the unprivileged boot can tell.
        _runsc.Run("run", "--detach", "--bundle", Bundle("sh", "-c", "sleep 0.3; exit 9"), "detached").AssertSuccess();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline && !_runsc.Run("state", "detached").Stdout.Contains("\"stopped\"")) Thread.Sleep(50);
        var record = Directory.GetFiles(_runsc.Root, "detached_sand:*.exit").Single();
        Assert.Equal((9 << 8).ToString(), File.ReadAllText(record).Trim());
        Assert.Equal(9, _runsc.Run("wait", "detached").ExitCode);
        _runsc.Run("delete", "detached").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root, "detached_sand:*"));
    }
}
