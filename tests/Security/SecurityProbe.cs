using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Runs the attack probes of tests/Security/Probes (static C, compiled once per run): in a
/// container whose config a test adjusts (user, capabilities, mounts), and natively as a given
/// uid with given capabilities (setpriv), so a refusal is compared with Linux's own.
/// </summary>
public sealed class SecurityProbe : IDisposable
{
    private static readonly object s_compileLock = new();
    private static readonly string s_binDir = OpenDirectory(Directory.CreateTempSubdirectory("runsc-net-security-probes-").FullName);

    // The probes also run as other uids (1000, 65534): the directory must be searchable by them.
    private static string OpenDirectory(string dir)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0x1ed);
        return dir;
    }
    private readonly List<string> _dirs = [];

    /// <summary>The runtime instance (its own --root).</summary>
    public RunscNetBinary Runsc { get; } = new();

    private static string SourceDir([CallerFilePath] string thisFile = "") => Path.Combine(Path.GetDirectoryName(thisFile)!, "Probes");

    /// <summary>Compiles Probes/<paramref name="name"/>.c; returns the binary's path.</summary>
    public static string Compile(string name)
    {
        lock (s_compileLock)
        {
            string bin = Path.Combine(s_binDir, name);
            if (File.Exists(bin)) return bin;
            var r = Exec("gcc", ["-static", "-O1", "-Wall", "-Werror", "-o", bin, Path.Combine(SourceDir(), name + ".c")]);
            Assert.True(r.ExitCode == 0, $"gcc {name}.c failed:\n{r.Stdout}{r.Stderr}");
            return bin;
        }
    }

    /// <summary>Capabilities as a spec names them, for every set (ambient too, so a non-root user keeps them).</summary>
    public static void SetCapabilities(JsonNode config, params string[] caps)
    {
        var o = new JsonObject();
        foreach (string set in new[] { "bounding", "effective", "permitted", "inheritable", "ambient" })
            o[set] = new JsonArray(caps.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray());
        config["process"]!["capabilities"] = o;
    }

    /// <summary>Runs /probe/<paramref name="name"/> in a new container after <paramref name="adjust"/> changed its config.</summary>
    public CommandResult RunInSandbox(string name, Action<JsonNode> adjust, params string[] args)
    {
        string bin = Compile(name);
        string bundle = Bundles.Make(["/probe/" + name, .. args]);
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["readonly"] = true;
        config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/probe", ["type"] = "bind", ["source"] = Path.GetDirectoryName(bin),
            ["options"] = new JsonArray("rbind", "ro"),
        });
        adjust(config);
        File.WriteAllText(configPath, config.ToJsonString());
        return Runsc.Run("run", "--bundle", bundle, "sec-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
    }

    /// <summary>Runs the probe natively through setpriv as uid/gid <paramref name="uid"/> with only <paramref name="caps"/> (e.g. "+net_raw").</summary>
    public static CommandResult RunNativeAs(string name, int uid, string caps, params string[] args)
    {
        string bin = Compile(name);
        List<string> setpriv = ["--reuid", uid.ToString(), "--regid", uid.ToString(), "--clear-groups"];
        setpriv.AddRange(caps.Length == 0
            ? ["--inh-caps=-all", "--bounding-set=-all"]
            : ["--inh-caps=" + caps, "--ambient-caps=" + caps]);
        return Exec("setpriv", [.. setpriv, bin, .. args]);
    }

    /// <summary>Runs a program and collects its output (two minutes at most).</summary>
    public static CommandResult Exec(string file, IEnumerable<string> args) => SyscallProbe.Exec(file, args);

    /// <summary>A fresh host directory removed at the end.</summary>
    public string TempDir()
    {
        string d = Directory.CreateTempSubdirectory("runsc-net-security-").FullName;
        _dirs.Add(d);
        return d;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Runsc.Dispose();
        foreach (string d in _dirs)
        {
            try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
