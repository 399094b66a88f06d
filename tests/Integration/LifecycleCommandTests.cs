using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>The OCI commands through the published binary: spec, create, state, list, kill, delete, errors.</summary>
public sealed class LifecycleCommandTests : IDisposable
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

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [IntegrationFact(needsRoot: false)]
    public void VersionWorks()
    {
        var r = RunscNetBinary.RunWithoutRoot("--version").AssertSuccess();
        Assert.StartsWith("runsc-net version ", r.Stdout);
        Assert.Contains("spec: 1.", r.Stdout);
        Assert.Equal(r.Stdout, RunscNetBinary.RunWithoutRoot("state", "--version").AssertSuccess().Stdout);
    }

    /// <summary>
    /// Our output to a regular file moves the shared file offset, as write(2) does: the next
    /// writer of a shell redirection appends after it instead of overwriting it.
    /// </summary>
    [IntegrationFact(needsRoot: false)]
    public void OutputToARedirectedFileMovesTheSharedOffset()
    {
        string dir = Directory.CreateTempSubdirectory("runsc-net-out-").FullName;
        _bundles.Add(dir);
        string file = System.IO.Path.Combine(dir, "out");
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("(echo before; \"$0\" --version; echo after) > \"$1\"");
        psi.ArgumentList.Add(RunscNetBinary.Path!);
        psi.ArgumentList.Add(file);
        using (var sh = Process.Start(psi)!)
        {
            sh.WaitForExit();
            Assert.Equal(0, sh.ExitCode);
        }
        string[] lines = File.ReadAllText(file).Split('\n');
        Assert.Equal("before", lines[0]);
        Assert.StartsWith("runsc-net version ", lines[1]);
        Assert.Equal("after", lines[^2]);
        Assert.Equal("", lines[^1]);
    }

    [IntegrationFact(needsRoot: false)]
    public void SpecWritesARuncLikeConfigOnce()
    {
        string dir = Directory.CreateTempSubdirectory("runsc-net-spec-").FullName;
        _bundles.Add(dir);
        RunscNetBinary.RunWithoutRoot("spec", "--bundle", dir).AssertSuccess();
        var config = Json(File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.Equal("sh", config.GetProperty("process").GetProperty("args")[0].GetString());
        Assert.True(config.GetProperty("process").GetProperty("terminal").GetBoolean());
        Assert.Equal("rootfs", config.GetProperty("root").GetProperty("path").GetString());
        string error = RunscNetBinary.RunWithoutRoot("spec", "--bundle", dir).AssertOneLineError();
        Assert.Contains("exists", error);
    }

    [IntegrationFact]
    public void CreateStateListDeleteWithTheirFiles()
    {
        string bundle = Bundle("sleep", "100");
        string pidFile = Path.Combine(_runsc.Root, "..", $"pid-{Guid.NewGuid():N}");
        _runsc.Run("create", "--bundle", bundle, "--pid-file", pidFile, "lifecycle-one").AssertSuccess();
        string stem = Path.Combine(_runsc.Root, "lifecycle-one_sand:lifecycle-one");
        Assert.True(File.Exists(stem + ".state"));
        Assert.True(File.Exists(stem + ".lock"));
        Assert.True(File.Exists(Path.Combine(_runsc.Root, "lifecycle-one.sock")));

        var state = Json(_runsc.Run("state", "lifecycle-one").AssertSuccess().Stdout);
        Assert.Equal("lifecycle-one", state.GetProperty("id").GetString());
        Assert.Equal("created", state.GetProperty("status").GetString());
        Assert.Equal(bundle, state.GetProperty("bundle").GetString());
        Assert.Equal(JsonValueKind.Object, state.GetProperty("annotations").ValueKind);
        int pid = state.GetProperty("pid").GetInt32();
        Assert.True(pid > 0);
        Assert.True(Directory.Exists($"/proc/{pid}"));
        Assert.Equal(pid.ToString(), File.ReadAllText(pidFile));
        File.Delete(pidFile);

        // An unambiguous prefix names the container.
        Assert.Equal("lifecycle-one", Json(_runsc.Run("state", "lifecycle-o").AssertSuccess().Stdout).GetProperty("id").GetString());

        Assert.Equal("lifecycle-one\n", _runsc.Run("list", "-q").AssertSuccess().Stdout);
        var list = Json(_runsc.Run("list", "--format", "json").AssertSuccess().Stdout);
        Assert.Equal("created", list[0].GetProperty("status").GetString());
        string table = _runsc.Run("list").AssertSuccess().Stdout;
        Assert.Contains("lifecycle-one", table);
        Assert.StartsWith("ID", table);

        _runsc.Run("delete", "lifecycle-one").AssertSuccess();
        Assert.Empty(Directory.GetFileSystemEntries(_runsc.Root));
        Assert.False(IsRunning(pid));
        Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);
    }

    [IntegrationFact]
    public void AnAmbiguousPrefixIsAnError()
    {
        string bundle = Bundle();
        _runsc.Run("create", "--bundle", bundle, "twin-a").AssertSuccess();
        _runsc.Run("create", "--bundle", bundle, "twin-b").AssertSuccess();
        Assert.Contains("ambiguous", _runsc.Run("state", "twin").AssertOneLineError());
    }

    [IntegrationFact]
    public void TwentyConcurrentCreatesOfOneIdHaveOneWinner()
    {
        string bundle = Bundle();
        var runs = Enumerable.Range(0, 20)
            .Select(_ => System.Threading.Tasks.Task.Run(() => _runsc.Run("create", "--bundle", bundle, "contended")))
            .ToArray();
        var results = runs.Select(t => t.Result).ToList();
        Assert.Equal(1, results.Count(r => r.ExitCode == 0));
        foreach (var loser in results.Where(r => r.ExitCode != 0))
            Assert.Contains("already exists", loser.AssertOneLineError());
        Assert.Single(Directory.GetFiles(_runsc.Root, "*.state"));
        Assert.Equal("created", Json(_runsc.Run("state", "contended").AssertSuccess().Stdout).GetProperty("status").GetString());
    }

    [IntegrationFact]
    public void KilledContainersAreStoppedAndDeletable()
    {
        string bundle = Bundle();
        _runsc.Run("create", "--bundle", bundle, "victim").AssertSuccess();
        int pid = Json(_runsc.Run("state", "victim").Stdout).GetProperty("pid").GetInt32();
        _runsc.Run("kill", "victim", "KILL").AssertSuccess();
        WaitUntil(() => !IsRunning(pid));
        var state = Json(_runsc.Run("state", "victim").AssertSuccess().Stdout);
        Assert.Equal("stopped", state.GetProperty("status").GetString());
        Assert.Equal(0, state.GetProperty("pid").GetInt32());
        Assert.Contains("not running", _runsc.Run("kill", "victim", "TERM").AssertOneLineError());
        _runsc.Run("kill", "--all", "victim", "KILL").AssertSuccess();
        _runsc.Run("delete", "victim").AssertSuccess();
        Assert.Empty(Directory.GetFileSystemEntries(_runsc.Root));
    }

    [IntegrationFact]
    public void DeleteForceCleansHalfWrittenState()
    {
        Directory.CreateDirectory(_runsc.Root);
        // A create that died after taking the lock, and one whose state file is torn.
        File.WriteAllText(Path.Combine(_runsc.Root, "half_sand:half.lock"), "");
        File.WriteAllText(Path.Combine(_runsc.Root, "torn_sand:torn.lock"), "");
        File.WriteAllText(Path.Combine(_runsc.Root, "torn_sand:torn.state"), "{\"id\":\"to");
        Assert.Contains("corrupt", _runsc.Run("delete", "torn").AssertOneLineError());
        _runsc.Run("delete", "--force", "torn").AssertSuccess();
        _runsc.Run("delete", "--force", "half").AssertSuccess();
        _runsc.Run("delete", "--force", "never-existed").AssertSuccess();
        Assert.Empty(Directory.GetFileSystemEntries(_runsc.Root));
    }

    [IntegrationFact]
    public void BadInputsAreOneLineErrors()
    {
        string bundle = Bundle();
        File.WriteAllText(Path.Combine(bundle, "config.json"), "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [");
        Assert.Contains("config.json", _runsc.Run("create", "--bundle", bundle, "malformed").AssertOneLineError());
        Assert.Contains("does not exist", _runsc.Run("state", "no-such-container").AssertOneLineError());
        Assert.Contains("invalid container id", _runsc.Run("state", "../x").AssertOneLineError());
        Assert.Contains("invalid container id", _runsc.Run("create", "--bundle", bundle, "../x").AssertOneLineError());
        Assert.Contains("invalid signal", _runsc.Run("kill", "x", "SIGFOO").AssertOneLineError());
        Assert.Contains("container x does not exist", _runsc.Run("checkpoint", "--image-path", "/tmp/img", "x").AssertOneLineError());
        Assert.False(Directory.Exists(_runsc.Root) && Directory.GetFiles(_runsc.Root, "*.state").Length > 0);
    }

    [IntegrationFact(needsRoot: false)]
    public void JsonLogLinesGoToTheLogFile()
    {
        string log = Path.Combine(_runsc.Root, "runsc.log");
        var r = _runsc.Run("--log", log, "--log-format", "json", "state", "nobody-here");
        Assert.Equal(1, r.ExitCode);
        var line = Json(File.ReadAllLines(log).Single());
        Assert.Equal("error", line.GetProperty("level").GetString());
        Assert.Contains("nobody-here", line.GetProperty("msg").GetString());
        Assert.True(line.TryGetProperty("time", out _));
    }

    [IntegrationFact(needsRootfs: true)]
    public void WaitAfterTheContainerEndedByItselfReportsItsStatus()
    {
        _runsc.Run("run", "--detach", "--bundle", Bundle("sh", "-c", "exit 7"), "ended-alone").AssertSuccess();
        WaitUntil(() => Json(_runsc.Run("state", "ended-alone").AssertSuccess().Stdout).GetProperty("status").GetString() == "stopped");
        // Nobody waited while it ran: the sandbox recorded the status itself as it ended.
        var w = _runsc.Run("wait", "ended-alone");
        Assert.Equal(7, w.ExitCode);
        Assert.Equal("{\"id\":\"ended-alone\",\"exitStatus\":7}\n", w.Stdout);
        _runsc.Run("delete", "ended-alone").AssertSuccess();
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "condition not met in 30 s");
            Thread.Sleep(10);
        }
    }
}
