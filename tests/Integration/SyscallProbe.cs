using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Runs a small static C program from tests/Integration/Probes (compiled with `gcc -static`)
/// natively and inside `runsc-net run`, so a test can compare the two outputs line by line.
/// In the container the probe directory is bind-mounted read-only at /probe, the root file
/// system is read-only, /tmp is a tmpfs and /data a writable bind mount of a fresh host directory;
/// root gets CAP_SETUID/SETGID/CHOWN/DAC_OVERRIDE/FOWNER on top of the default set.
/// </summary>
public sealed class SyscallProbe : IDisposable
{
    private static readonly object s_compileLock = new();
    private static readonly string s_binDir = Directory.CreateTempSubdirectory("runsc-net-probes-").FullName;

    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    /// <summary>The directory holding the probe sources (next to this file).</summary>
    public static string SourceDir([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Probes");

    /// <summary>
    /// A bundle (the caller deletes it) running probe <paramref name="name"/> with <paramref name="args"/>,
    /// the compiled probes bound read-only at /probe and nothing else changed.
    /// </summary>
    public static string Bundle(string name, params string[] args)
    {
        string probes = Compile(name);
        string bundle = Bundles.Make(["/probe/" + name, .. args]);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/probe", ["type"] = "bind", ["source"] = probes, ["options"] = new JsonArray("rbind", "ro"),
        });
        File.WriteAllText(configPath, config.ToJsonString());
        return bundle;
    }

    /// <summary>Waits (30 s at most) until <paramref name="file"/> holds <paramref name="text"/>, else fails with what it holds.</summary>
    public static void WaitForText(string file, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(File.Exists(file) && File.ReadAllText(file).Contains(text)) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.True(File.Exists(file) && File.ReadAllText(file).Contains(text), $"{file} never showed \"{text}\": {(File.Exists(file) ? File.ReadAllText(file) : "")}");
    }

    /// <summary>Compiles Probes/<paramref name="name"/>.c once per test run; returns the binary's directory.</summary>
    public static string Compile(string name)
    {
        lock (s_compileLock)
        {
            string bin = Path.Combine(s_binDir, name);
            if (File.Exists(bin)) return s_binDir;
            string src = Path.Combine(SourceDir(), name + ".c");
            var r = Exec("gcc", ["-static", "-O1", "-Wall", "-Werror", "-o", bin, src]);
            Assert.True(r.ExitCode == 0, $"gcc {name}.c failed:\n{r.Stdout}{r.Stderr}");
            return s_binDir;
        }
    }

    /// <summary>Runs the probe on the host with <paramref name="args"/>; returns its exit code and output.</summary>
    public CommandResult RunNative(string name, params string[] args)
    {
        string dir = Compile(name);
        return Exec(Path.Combine(dir, name), args);
    }

    /// <summary>A fresh, empty host directory removed when the test ends.</summary>
    public string TempDir()
    {
        string d = Directory.CreateTempSubdirectory("runsc-net-probe-data-").FullName;
        _dirs.Add(d);
        return d;
    }

    /// <summary>Runs /probe/<paramref name="name"/> with <paramref name="args"/> in a new container.</summary>
    public CommandResult RunInSandbox(string name, params string[] args)
    {
        string dir = Compile(name);
        string bundle = Bundles.Make(["/probe/" + name, .. args]);
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["readonly"] = true;
        // The probe runs as root natively; give it the capabilities it uses (setuid/setgid to drop to another user).
        var caps = config["process"]!["capabilities"]!.AsObject();
        foreach (string set in new[] { "bounding", "effective", "permitted" })
        {
            var list = caps[set]!.AsArray();
            foreach (string cap in new[] { "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETPCAP" })
                if (!list.Any(n => n!.GetValue<string>() == cap)) list.Add(cap);
        }
        var mounts = config["mounts"]!.AsArray();
        mounts.Add(new JsonObject
        {
            ["destination"] = "/probe", ["type"] = "bind", ["source"] = dir,
            ["options"] = new JsonArray("rbind", "ro"),
        });
        mounts.Add(new JsonObject
        {
            ["destination"] = "/data", ["type"] = "bind", ["source"] = TempDir(),
            ["options"] = new JsonArray("rbind", "rw"),
        });
        mounts.Add(new JsonObject
        {
            ["destination"] = "/tmp", ["type"] = "tmpfs", ["source"] = "tmpfs",
            ["options"] = new JsonArray("nosuid", "nodev", "mode=1777"),
        });
        File.WriteAllText(configPath, config.ToJsonString());
        return _runsc.Run("run", "--bundle", bundle, "probe-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
    }

    /// <summary>
    /// Runs the probe natively (with <paramref name="nativeArgs"/>) and in the sandbox (with
    /// <paramref name="sandboxArgs"/>) and asserts identical exit codes and output.
    /// </summary>
    public void AssertSameAsNative(string name, string[] nativeArgs, string[] sandboxArgs)
    {
        var native = RunNative(name, nativeArgs);
        Assert.True(native.ExitCode == 0, $"native {name} exited {native.ExitCode}:\n{native.Stdout}{native.Stderr}");
        var sandboxed = RunInSandbox(name, sandboxArgs);
        Assert.True(sandboxed.ExitCode == 0, $"{name} in runsc-net exited {sandboxed.ExitCode}:\n{sandboxed.Stdout}{sandboxed.Stderr}");
        Assert.Equal(native.Stdout, sandboxed.Stdout);
    }

    /// <summary>Runs a program and collects its output (two minutes at most); the probe harnesses share it.</summary>
    public static CommandResult Exec(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not finish");
        }
        return new CommandResult(p.ExitCode, stdout, stderr.Result);
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
