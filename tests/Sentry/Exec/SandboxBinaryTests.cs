using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Sentry.Exec;

/// <summary>
/// Issue 3's acceptance through the published binary: `runsc-net run` of busybox bundles on the
/// Sentry (ptrace platform), compared with what the same commands print natively.
/// </summary>
public class SandboxBinaryTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();

    public void Dispose() => _runsc.Dispose();

    private static string BundleWithRootfs(string rootfs, params string[] args)
    {
        string dir = Bundles.Make(args);
        string configPath = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["path"] = rootfs;
        File.WriteAllText(configPath, config.ToJsonString());
        return dir;
    }

    private static string NewId() => "t" + Guid.NewGuid().ToString("N")[..8];

    private CommandResult RunShell(string script, params string[] globalFlags)
    {
        string bundle = Bundles.Make("sh", "-c", script);
        return _runsc.Run([.. globalFlags, "run", "--bundle", bundle, NewId()]);
    }

    [IntegrationFact(needsRootfs: true)]
    public void AcceptanceScriptPrintsLikeNativeAndExits42()
    {
        var r = RunShell("echo hello; seq 1 2000 | sort -rn | head -3; (sleep 0.2; echo child) & wait; trap \"echo usr1\" USR1; kill -USR1 $$; exit 42");
        Assert.Equal("hello\n2000\n1999\n1998\nchild\nusr1\n", r.Stdout);
        Assert.Equal(42, r.ExitCode);
    }

    [IntegrationFact(needsRootfs: true)]
    public void TwoHundredForkExecsAndTimeout()
    {
        var r = RunShell("i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo $i; timeout 1 sleep 5; echo $?");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("200\n", r.Stdout);
        Assert.EndsWith("143\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void UnameNamesRunscNet()
    {
        var r = RunShell("uname -v; uname -s");
        Assert.Equal("#1 SMP runsc-net\nLinux\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void StraceLogsTheApplicationsSystemCalls()
    {
        string logDir = Directory.CreateTempSubdirectory("runsc-net-strace-").FullName;
        try
        {
            var r = RunShell("/bin/echo traced", "--debug", "--debug-log", logDir, "--strace");
            Assert.Equal("traced\n", r.Stdout);
            string all = string.Concat(Directory.GetFiles(logDir, "*", SearchOption.AllDirectories).Select(File.ReadAllText));
            Assert.Contains("] execve(", all);
            Assert.Contains("] write(0x1,", all);
            Assert.Contains("] exit_group(", all);
        }
        finally
        {
            Directory.Delete(logDir, recursive: true);
        }
    }

    [IntegrationFact(needsRootfs: true)]
    public void StubsAreTracedByTheSentry()
    {
        string id = NewId();
        string bundle = Bundles.Make("sleep", "30");
        // Only the ptrace platform traces its stubs (systrap stubs run untraced under seccomp).
        _runsc.Run("--platform", "ptrace", "create", "--bundle", bundle, id).AssertSuccess();
        _runsc.Run("start", id).AssertSuccess();
        int sandboxPid = JsonNode.Parse(_runsc.Run("state", id).AssertSuccess().Stdout)!["pid"]!.GetValue<int>();
        var sentryThreads = Directory.GetDirectories($"/proc/{sandboxPid}/task").Select(d => int.Parse(Path.GetFileName(d))).ToHashSet();
        var stubs = new List<(int Pid, int Tracer)>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                int Field(string name) => int.Parse(status.First(l => l.StartsWith(name + ":")).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
                if (Field("PPid") == sandboxPid && status[0].Contains("runsc-net")) stubs.Add((pid, Field("TracerPid")));
            }
            catch (IOException)
            {
            }
        }
        _runsc.Run("kill", id, "KILL");
        Assert.NotEmpty(stubs);
        Assert.All(stubs, s => Assert.Contains(s.Tracer, sentryThreads));
    }

    [IntegrationFact(needsFiles: SandboxBootTests.HostLsFiles)]
    public void DynamicGlibcProgramPrintsLikeNatively()
    {
        string[] libs = SandboxBootTests.HostLsFiles.Split(' ').Skip(1).ToArray();
        string rootfs = Directory.CreateTempSubdirectory("runsc-net-ls-").FullName;
        try
        {
            foreach (var f in libs.Append("/bin/ls"))
            {
                string dest = Path.Combine(rootfs, f.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                File.Copy(new FileInfo(f).ResolveLinkTarget(true)?.FullName ?? f, dest);
            }
            foreach (var d in new[] { "proc", "dev", "data/b", "data/a" }) Directory.CreateDirectory(Path.Combine(rootfs, d));
            File.WriteAllText(Path.Combine(rootfs, "data/file"), "x");
            string bundle = BundleWithRootfs(rootfs, "/bin/ls", "-1", "/data");
            var r = _runsc.Run("run", "--bundle", bundle, NewId());
            Assert.Equal("a\nb\nfile\n", r.Stdout);
            Assert.Equal(0, r.ExitCode);
        }
        finally
        {
            Directory.Delete(rootfs, recursive: true);
        }
    }
}
