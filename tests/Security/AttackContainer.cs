using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Runs one attack probe from tests/Security/Probes (static C, compiled with gcc by the test) as
/// the first process of a detached container and follows its output while it runs, so a test can
/// look at the sandbox from the host (its processes, `state`, `exec`) during and after the attack.
/// The probe starts as root with CAP_SETUID/SETGID only to prepare its files, then makes itself
/// uid 1000 with no capabilities. Mounts: /probe (the probes, read-only), /tmp (tmpfs), /ro and
/// /rw (host directories bind-mounted read-only and read-write, each holding a root-owned 0644
/// file "victim").
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AttackContainer : IDisposable
{
    private static readonly object s_compileLock = new();
    private static readonly string s_binDir = OpenDir(Directory.CreateTempSubdirectory("runsc-net-attacks-").FullName);

    /// <summary>What the victim files hold (8 KiB: "ORIGINAL" then 'A's).</summary>
    public static readonly byte[] VictimContent = [.. "ORIGINAL"u8, .. Enumerable.Repeat((byte)'A', 0x2000 - 8)];

    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];
    private readonly string _out;

    /// <summary>The container's id.</summary>
    public string Id { get; } = "attack-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The host directories bind-mounted at /ro and /rw.</summary>
    public string RoDir { get; }
    /// <inheritdoc cref="RoDir"/>
    public string RwDir { get; }

    /// <summary>Compiles the probe, makes the bundle and starts the container (detached).</summary>
    public AttackContainer(string probe, params string[] args)
    {
        string bin = Compile(probe);
        RoDir = OpenDir(TempDir());
        RwDir = OpenDir(TempDir());
        foreach (string d in new[] { RoDir, RwDir })
        {
            string victim = Path.Combine(d, "victim");
            File.WriteAllBytes(victim, VictimContent);
            File.SetUnixFileMode(victim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        string bundle = Bundles.Make(["/probe/" + probe, .. args]);
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["readonly"] = true;
        var caps = config["process"]!["capabilities"]!.AsObject();
        foreach (string set in new[] { "bounding", "effective", "permitted" })
        {
            var list = caps[set]!.AsArray();
            foreach (string cap in new[] { "CAP_SETUID", "CAP_SETGID" })
                if (!list.Any(n => n!.GetValue<string>() == cap)) list.Add(cap);
        }
        var mounts = config["mounts"]!.AsArray();
        mounts.Add(Bind("/probe", Path.GetDirectoryName(bin)!, "ro"));
        mounts.Add(Bind("/ro", RoDir, "ro"));
        mounts.Add(Bind("/rw", RwDir, "rw"));
        mounts.Add(new JsonObject
        {
            ["destination"] = "/tmp", ["type"] = "tmpfs", ["source"] = "tmpfs",
            ["options"] = new JsonArray("nosuid", "nodev", "mode=1777"),
        });
        File.WriteAllText(configPath, config.ToJsonString());

        _out = Path.Combine(TempDir(), "out");
        var psi = new ProcessStartInfo("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("out=$1; shift; exec \"$@\" </dev/null >\"$out\" 2>&1");
        foreach (string a in new[] { "sh", _out, RunscNetBinary.Path!, "--root", _runsc.Root, "run", "--detach", "--bundle", bundle, Id })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("runsc-net run --detach did not return");
        }
        Assert.True(p.ExitCode == 0, $"runsc-net run exited {p.ExitCode}: {Output}");
    }

    private static JsonObject Bind(string destination, string source, string mode) => new()
    {
        ["destination"] = destination, ["type"] = "bind", ["source"] = source,
        ["options"] = new JsonArray("rbind", mode),
    };

    /// <summary>The container's output so far (stdout and stderr of its processes).</summary>
    public string Output => File.Exists(_out) ? File.ReadAllText(_out) : "";

    /// <summary>Waits until a line of the output equals <paramref name="line"/>; fails after <paramref name="seconds"/>.</summary>
    public string WaitForLine(string line, int seconds)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (true)
        {
            string o = Output;
            if (o.Split('\n').Contains(line)) return o;
            if (DateTime.UtcNow > deadline) Assert.Fail($"no line \"{line}\" within {seconds} s; output so far:\n{o}");
            Thread.Sleep(50);
        }
    }

    /// <summary>`runsc-net state`: the container's status and the sandbox process's host pid.</summary>
    public (string Status, int Pid) State()
    {
        var r = _runsc.Run("state", Id).AssertSuccess();
        var json = JsonDocument.Parse(r.Stdout).RootElement;
        return (json.GetProperty("status").GetString()!, json.GetProperty("pid").GetInt32());
    }

    /// <summary>`runsc-net exec` into the container.</summary>
    public CommandResult Exec(params string[] args) => _runsc.Run(["exec", Id, .. args]);

    /// <summary>The host processes whose parent is <paramref name="pid"/> (the Sentry's stubs are its children).</summary>
    public static List<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int p)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(f[1]) == pid) children.Add(p);
            }
            catch (IOException) { }   // gone since the listing
        }
        return children;
    }

    /// <summary>Compiles Probes/<paramref name="name"/>.c once per test run; returns the binary's path.</summary>
    private static string Compile(string name, [CallerFilePath] string thisFile = "")
    {
        lock (s_compileLock)
        {
            string bin = Path.Combine(s_binDir, name);
            if (File.Exists(bin)) return bin;
            string src = Path.Combine(Path.GetDirectoryName(thisFile)!, "Probes", name + ".c");
            var psi = new ProcessStartInfo("gcc") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "-static", "-O1", "-Wall", "-Werror", "-pthread", "-o", bin, src }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"gcc {name}.c failed:\n{err}");
            return bin;
        }
    }

    /// <summary>Makes a directory searchable by uid 1000 in the container (temporary directories are 0700).</summary>
    private static string OpenDir(string dir)
    {
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        return dir;
    }

    private string TempDir()
    {
        string d = Directory.CreateTempSubdirectory("runsc-net-attack-").FullName;
        _dirs.Add(d);
        return d;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs)
        {
            try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
