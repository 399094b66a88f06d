using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// linux.namespaces, linux.uidMappings/gidMappings and linux.sysctl through the published binary,
/// each compared with what config-linux.md asks (and runc does): a path joins that namespace
/// (its type checked), a missing type inherits the caller's, a listed one is new; the container
/// sees its user namespace's maps and owners (ipc: the Sentry's own, so only a new one); sysctls read back as set, keys runc refuses refused.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NamespaceSpecTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];
    private readonly List<Process> _helpers = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (var p in _helpers) { try { p.Kill(true); p.WaitForExit(); } catch (InvalidOperationException) { } }
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    /// <summary>A bundle running <paramref name="script"/>, its config edited by <paramref name="edit"/>.</summary>
    private string Bundle(string script, Action<JsonNode> edit)
    {
        string b = Bundles.Make("sh", "-c", script);
        _dirs.Add(b);
        string path = Path.Combine(b, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
        return b;
    }

    private static void SetNamespace(JsonNode config, string type, string? path)
    {
        var list = config["linux"]!["namespaces"]!.AsArray();
        foreach (var n in list.Where(n => (string?)n!["type"] == type).ToList()) list.Remove(n);
        if (path == "") return; // "" = not listed
        var entry = new JsonObject { ["type"] = type };
        if (path != null) entry["path"] = path;
        list.Add(entry);
    }

    private static string Link(string path) => new FileInfo(path).LinkTarget!;

    /// <summary>A host process in new IPC and UTS namespaces (hostname joined-uts), as the suite's `unshare` makes.</summary>
    private int Helper()
    {
        var p = Process.Start(new ProcessStartInfo("unshare", ["--ipc", "--uts", "sh", "-c", "hostname joined-uts; exec sleep 600"]))!;
        _helpers.Add(p);
        for (int i = 0; i < 100 && Link($"/proc/{p.Id}/ns/uts") == Link("/proc/self/ns/uts"); i++) Thread.Sleep(50);
        Thread.Sleep(100);
        return p.Id;
    }

    /// <summary>
    /// A joined UTS namespace shows its names; renaming it would have to reach the host processes
    /// there, which the Sentry cannot, so even with CAP_SYS_ADMIN sethostname fails with EPERM
    /// (as for any caller without CAP_SYS_ADMIN over that namespace) instead of renaming a private
    /// copy. In a UTS namespace of the container's own it works.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "unshare")]
    public void UtsGivenByPathIsJoined()
    {
        int pid = Helper();
        const string Script = "readlink /proc/self/ns/uts; hostname; hostname renamed 2>&1 | grep -o 'not permitted'; hostname";
        string b = Bundle(Script, c =>
        {
            SetNamespace(c, "uts", $"/proc/{pid}/ns/uts");
            c.AsObject().Remove("hostname");
            WithSysAdmin(c);
        });
        var r = _runsc.Run("run", "--bundle", b, "ns-join").AssertSuccess();
        Assert.Equal($"{Link($"/proc/{pid}/ns/uts")}\njoined-uts\nnot permitted\njoined-uts\n", r.Stdout);

        string own = Bundle("hostname renamed && hostname", WithSysAdmin);
        Assert.Equal("renamed\n", _runsc.Run("run", "--bundle", own, "ns-own-uts").AssertSuccess().Stdout);
    }

    private static void WithSysAdmin(JsonNode config)
    {
        var caps = new JsonObject();
        foreach (string set in new[] { "bounding", "effective", "permitted" })
            caps[set] = new JsonArray("CAP_SYS_ADMIN");
        config["process"]!["capabilities"] = caps;
    }

    /// <summary>
    /// The Sentry keeps System V IPC itself, so another process's IPC namespace cannot be shared:
    /// a path to one is refused by name rather than joined in name only (objects made there would
    /// not be seen by the processes of that namespace, nor theirs by the container).
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "unshare")]
    public void AnIpcNamespaceGivenByPathIsRefused()
    {
        int pid = Helper();
        string b = Bundle("true", c => SetNamespace(c, "ipc", $"/proc/{pid}/ns/ipc"));
        var r = _runsc.Run("create", "--bundle", b, "ns-join-ipc");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"joining the ipc namespace /proc/{pid}/ns/ipc is not supported", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.NotEqual(0, _runsc.Run("state", "ns-join-ipc").ExitCode);
    }

    [IntegrationFact(needsRootfs: true)]
    public void UnlistedUtsAndCgroupAreTheCallersListedOnesAreNew()
    {
        string inherit = Bundle("for f in uts cgroup; do readlink /proc/self/ns/$f; done; hostname", c =>
        {
            SetNamespace(c, "uts", "");
            SetNamespace(c, "cgroup", "");
            c.AsObject().Remove("hostname");
        });
        var r = _runsc.Run("run", "--bundle", inherit, "ns-inherit").AssertSuccess();
        Assert.Equal($"{Link("/proc/self/ns/uts")}\n{Link("/proc/self/ns/cgroup")}\n{Environment.MachineName}\n", r.Stdout);

        string fresh = Bundle("for f in ipc uts cgroup; do readlink /proc/self/ns/$f; done", c => SetNamespace(c, "cgroup", null));
        var lines = _runsc.Run("run", "--bundle", fresh, "ns-new").AssertSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.NotEqual(Link("/proc/self/ns/ipc"), lines[0]);
        Assert.NotEqual(Link("/proc/self/ns/uts"), lines[1]);
        Assert.NotEqual(Link("/proc/self/ns/cgroup"), lines[2]);
        Assert.StartsWith("cgroup:[", lines[2]);
    }

    [IntegrationTheory(needsRootfs: true)]
    [InlineData("ipc", "/proc/self/ns/net", "is a network namespace, not a ipc namespace")]
    [InlineData("uts", "/proc/self/ns/cgroup", "is a cgroup namespace, not a uts namespace")]
    [InlineData("network", "/proc/self/ns/pid", "is a pid namespace, not a network namespace")]
    [InlineData("cgroup", "/proc/self/ns/ipc", "is a ipc namespace, not a cgroup namespace")]
    [InlineData("mount", "/proc/self/ns/mnt", "joining the mount namespace")]
    [InlineData("pid", "/proc/self/ns/pid", "joining the pid namespace")]
    [InlineData("user", "/proc/self/ns/user", "joining the user namespace")]
    [InlineData("pid", "", "must have a pid namespace of its own")]
    [InlineData("mount", "", "must have a mount namespace of its own")]
    [InlineData("ipc", "", "must have an ipc namespace of its own (host IPC is not supported)")]
    [InlineData("ipc", "/proc/self/ns/ipc", "joining the ipc namespace /proc/self/ns/ipc is not supported")]
    public void NamespacesThatCannotBeHonouredAreRefusedAtCreate(string type, string path, string message)
    {
        string b = Bundle("true", c => SetNamespace(c, type, path));
        var r = _runsc.Run("create", "--bundle", b, "ns-refused-" + type);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.NotEqual(0, _runsc.Run("state", "ns-refused-" + type).ExitCode);
    }

    [IntegrationFact(needsRootfs: true)]
    public void UserNamespaceMapsAndOwnersAreTheContainers()
    {
        // Host ids 100000.. are the container's 0..65535: a host file of 100005 is the container's 5,
        // the host's root (not mapped) shows as the overflow id, new files get host ids through the map.
        string data = Directory.CreateTempSubdirectory("runsc-net-userns-").FullName;
        _dirs.Add(data);
        File.SetUnixFileMode(data, (UnixFileMode)0x1ff);
        Chown(data, 100000, 100000);
        File.WriteAllText(Path.Combine(data, "mine"), "mine\n");
        Chown(Path.Combine(data, "mine"), 100005, 100007);
        File.WriteAllText(Path.Combine(data, "hostroot"), "root\n");
        string b = Bundle("cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; id -g;"
            + " stat -c '%u %g' /data/mine /data/hostroot; touch /data/new; echo 1 > /proc/self/uid_map || echo refused", c =>
        {
            SetNamespace(c, "user", null);
            c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
            c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
            c["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/data", ["type"] = "bind", ["source"] = data, ["options"] = new JsonArray("rbind", "rw") });
        });
        var r = _runsc.Run("run", "--bundle", b, "ns-userns").AssertSuccess();
        Assert.Equal("         0     100000      65536\n         0     100000      65536\nallow\n0\n0\n5 7\n65534 65534\nrefused\n", r.Stdout);
        Assert.Equal((100000u, 100000u), Owner(Path.Combine(data, "new")));
    }

    [IntegrationFact(needsRootfs: true)]
    public void SysctlsReadBackAsSetAndNetOnesLiveInTheNetworkNamespace()
    {
        string b = Bundle("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname", c =>
            c["linux"]!["sysctl"] = new JsonObject
            {
                ["net.ipv4.ip_forward"] = File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim() == "1" ? "0" : "1",
                ["kernel.shmmax"] = "12345678", ["kernel.msgmax"] = "4096", ["fs.mqueue.msg_max"] = "33",
                ["kernel.domainname"] = "example.org",
            });
        string forward = File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim() == "1" ? "0" : "1";
        var r = _runsc.Run("run", "--bundle", b, "ns-sysctl").AssertSuccess();
        Assert.Equal($"{forward}\n12345678\n4096\n33\nexample.org\n", r.Stdout);
    }

    [IntegrationTheory(needsRootfs: true)]
    [InlineData("kernel.core_pattern", "core", "not in a separate kernel namespace")]
    [InlineData("vm.swappiness", "10", "not in a separate kernel namespace")]
    [InlineData("kernel.hostname", "x", "conflicts with the hostname field")]
    [InlineData("net.ipv4.no_such_key", "1", "no such sysctl")]
    [InlineData("kernel.shmmax", "lots", "invalid value")]
    public void SysctlsRuncRefusesAreRefusedAtCreate(string key, string value, string message)
    {
        string b = Bundle("true", c => c["linux"]!["sysctl"] = new JsonObject { [key] = value });
        var r = _runsc.Run("create", "--bundle", b, "ns-sysctl-refused");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [IntegrationFact(needsRootfs: true)]
    public void NetSysctlWithoutANetworkNamespaceOfItsOwnIsRefused()
    {
        string b = Bundle("true", c =>
        {
            SetNamespace(c, "network", "");
            c["linux"]!["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1" };
        });
        var r = _runsc.Run("create", "--bundle", b, "ns-sysctl-hostnet");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("not allowed in the host's network namespace", r.Stderr);
    }

    internal static void Chown(string path, uint uid, uint gid)
    {
        var p = Process.Start(new ProcessStartInfo("chown", [$"{uid}:{gid}", path]))!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    internal static (uint, uint) Owner(string path)
    {
        var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%u %g", path]) { RedirectStandardOutput = true })!;
        string[] f = p.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries);
        p.WaitForExit();
        return (uint.Parse(f[0]), uint.Parse(f[1]));
    }
}
