using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Runs a C program from tests/Security/Probes (compiled with `gcc -static` once per test run) as
/// a container of its own, hostile to the sandbox: the root file system read-only, the probe
/// directory bind-mounted read-only at /probe, /tmp a 64 MiB tmpfs, a memory and a pids limit
/// (so a probe cannot take the host's memory or processes, whatever the Sentry does), and the
/// user and capabilities the test chooses. The container is driven by create, start, state,
/// wait and delete, so a Sentry that hangs is seen as one that does not stop in time.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FuzzProbe : IDisposable
{
    private static readonly object s_compileLock = new();
    private static readonly string s_binDir = Directory.CreateTempSubdirectory("runsc-net-security-probes-").FullName;

    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    /// <summary>The runtime this probe's containers run under (its --root and --debug-log).</summary>
    public RunscNetBinary Runtime => _runsc;

    /// <summary>The directory holding the probe sources (next to this file).</summary>
    public static string SourceDir([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Probes");

    /// <summary>Compiles Probes/<paramref name="name"/>.c once per test run; returns the binary's directory.</summary>
    public static string Compile(string name)
    {
        lock (s_compileLock)
        {
            string bin = Path.Combine(s_binDir, name);
            if (File.Exists(bin)) return s_binDir;
            string src = Path.Combine(SourceDir(), name + ".c");
            // No stack protector: the fuzzer's workers may lose their TLS (a fuzzed arch_prctl).
            var r = SyscallProbe.Exec("gcc", ["-static", "-O1", "-Wall", "-Werror", "-fno-stack-protector", "-o", bin, src]);
            Assert.True(r.ExitCode == 0, $"gcc {name}.c failed:\n{r.Stdout}{r.Stderr}");
            // Probes also run as an unprivileged user: the temporary directory is 0700.
            File.SetUnixFileMode(s_binDir, (UnixFileMode)0b111_101_101);
            return s_binDir;
        }
    }

    /// <summary>Runs the probe on the host (only for probes harmless there); returns its exit code and output.</summary>
    public static CommandResult RunNative(string name, params string[] args) => SyscallProbe.Exec(Path.Combine(Compile(name), name), args);

    /// <summary>A container's end: the probe's exit status (-1 when it did not stop in time) and output.</summary>
    public sealed record Outcome(int ExitStatus, string Stdout, string Stderr, bool StoppedInTime);

    /// <summary>
    /// Runs /probe/<paramref name="name"/> with <paramref name="args"/> as uid/gid
    /// <paramref name="uid"/> with exactly <paramref name="capabilities"/> (null: the spec's
    /// defaults) and waits at most <paramref name="limit"/> for it to stop on its own. Asserts
    /// along the way that create, start, state, wait and delete work (also after a hang: then the
    /// container is killed and the outcome says it did not stop in time).
    /// </summary>
    public Outcome Run(string name, uint uid, string[]? capabilities, TimeSpan limit, params string[] args)
    {
        string dir = Compile(name);
        string bundle = Bundles.Make(["/probe/" + name, .. args]);
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["readonly"] = true;
        config["process"]!["user"] = new JsonObject { ["uid"] = uid, ["gid"] = uid };
        if (capabilities != null)
        {
            var caps = config["process"]!["capabilities"]!.AsObject();
            foreach (string set in new[] { "bounding", "effective", "permitted", "inheritable", "ambient" })
                caps[set] = new JsonArray(capabilities.Select(c => (JsonNode)c).ToArray());
        }
        var mounts = config["mounts"]!.AsArray();
        mounts.Add(new JsonObject
        {
            ["destination"] = "/probe", ["type"] = "bind", ["source"] = dir,
            ["options"] = new JsonArray("rbind", "ro"),
        });
        mounts.Add(new JsonObject
        {
            ["destination"] = "/tmp", ["type"] = "tmpfs", ["source"] = "tmpfs",
            ["options"] = new JsonArray("nosuid", "nodev", "mode=1777", "size=64m"),
        });
        var linux = config["linux"]!.AsObject();
        linux["resources"] = new JsonObject
        {
            ["memory"] = new JsonObject { ["limit"] = 2L << 30 },
            ["pids"] = new JsonObject { ["limit"] = 512 },
        };
        File.WriteAllText(configPath, config.ToJsonString());

        string id = name + "-" + Guid.NewGuid().ToString("N")[..8];
        string outFile = Path.Combine(bundle, "probe.out"), errFile = Path.Combine(bundle, "probe.err");
        _runsc.RunTo(outFile, errFile, TimeSpan.FromMinutes(1), "create", "--bundle", bundle, id).AssertSuccess();
        _runsc.Run("start", id).AssertSuccess();
        var deadline = Stopwatch.StartNew();
        bool stopped = false;
        while (deadline.Elapsed < limit)
        {
            if (Status(id) == "stopped") { stopped = true; break; }
            Thread.Sleep(200);
        }
        int exit = -1;
        if (stopped)
        {
            var wait = _runsc.Run("wait", id);
            exit = wait.ExitCode;
        }
        else
        {
            // A hang: the runtime must still answer and clean up.
            Assert.Equal("running", Status(id));
            _runsc.Run("kill", id, "KILL");
        }
        _runsc.Run("delete", "--force", id).AssertSuccess();
        var gone = _runsc.Run("state", id);
        Assert.NotEqual(0, gone.ExitCode);
        return new Outcome(exit, ReadCapped(outFile), ReadCapped(errFile), stopped);
    }

    /// <summary>
    /// A probe's output: all of it up to 64 KiB, else its first and last 32 KiB (a hostile probe
    /// may write gigabytes, or extend the file with a hole).
    /// </summary>
    private static string ReadCapped(string file)
    {
        const int Half = 32 * 1024;
        using var f = File.OpenRead(file);
        if (f.Length <= 2 * Half) return new StreamReader(f).ReadToEnd();
        var head = new byte[Half];
        f.ReadExactly(head);
        var tail = new byte[Half];
        f.Seek(-Half, SeekOrigin.End);
        f.ReadExactly(tail);
        return System.Text.Encoding.UTF8.GetString(head) + $"\n[... {f.Length - 2 * Half} bytes left out ...]\n" + System.Text.Encoding.UTF8.GetString(tail);
    }

    private string Status(string id)
    {
        var r = _runsc.Run("state", id).AssertSuccess();
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("status").GetString() ?? "";
    }


    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            _runsc.Dispose();
        }
        finally
        {
            foreach (string d in _dirs)
            {
                try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
