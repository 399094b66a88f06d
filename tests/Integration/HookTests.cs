using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>Lifecycle hooks get the state on stdin; a failing createRuntime hook fails create cleanly.</summary>
public sealed class HookTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly string _bundle = Bundles.Make();

    public void Dispose()
    {
        _runsc.Dispose();
        Directory.Delete(_bundle, recursive: true);
    }

    private void AddHook(string phase, string script)
    {
        string configPath = Path.Combine(_bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["hooks"] ??= new JsonObject();
        config["hooks"]![phase] = new JsonArray(new JsonObject
        {
            ["path"] = "/bin/sh",
            ["args"] = new JsonArray("sh", "-c", script),
            ["env"] = new JsonArray("PATH=/usr/bin:/bin"),
            ["timeout"] = 30,
        });
        File.WriteAllText(configPath, config.ToJsonString());
    }

    [IntegrationFact]
    public void CreateRuntimeAndPoststopHooksReadTheState()
    {
        string created = Path.Combine(_bundle, "created.json"), stopped = Path.Combine(_bundle, "stopped.json");
        AddHook("createRuntime", $"cat > {created}");
        AddHook("poststop", $"cat > {stopped}");
        _runsc.Run("create", "--bundle", _bundle, "hooked").AssertSuccess();
        using (var doc = JsonDocument.Parse(File.ReadAllText(created)))
        {
            Assert.Equal("hooked", doc.RootElement.GetProperty("id").GetString());
            Assert.Equal("creating", doc.RootElement.GetProperty("status").GetString());
            Assert.True(doc.RootElement.GetProperty("pid").GetInt32() > 0);
            Assert.Equal(_bundle, doc.RootElement.GetProperty("bundle").GetString());
        }
        Assert.False(File.Exists(stopped));
        _runsc.Run("delete", "hooked").AssertSuccess();
        using (var doc = JsonDocument.Parse(File.ReadAllText(stopped)))
        {
            Assert.Equal("stopped", doc.RootElement.GetProperty("status").GetString());
        }
    }

    [IntegrationFact(needsRootfs: true)]
    public void EverySortOfHookRunsInOrderWithTheStatusOfItsStep()
    {
        // config.md: prestart, createRuntime and createContainer during create (creating),
        // startContainer during start before the program (created), poststart after it
        // (running), poststop after delete (stopped). runc 1.1.5 passes "created" to poststart
        // and resolves startContainer's path inside the container (the Sentry's container has no
        // host binaries: the hook runs on the host, as runsc does).
        string log = Path.Combine(_bundle, "hooks.log");
        // A program that outlives start, so that poststart sees it running.
        string configPath = Path.Combine(_bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["args"] = new JsonArray("sleep", "2");
        File.WriteAllText(configPath, config.ToJsonString());
        foreach (string phase in new[] { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" })
            AddHook(phase, $"printf '{phase} %s\\n' \"$(tr -d ' \\n' | sed -n 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/p')\" >> {log}");
        _runsc.Run("create", "--bundle", _bundle, "hooks-all").AssertSuccess();
        Assert.Equal("prestart creating\ncreateRuntime creating\ncreateContainer creating\n", File.ReadAllText(log));
        _runsc.Run("start", "hooks-all").AssertSuccess();
        _runsc.Run("wait", "hooks-all");
        _runsc.Run("delete", "--force", "hooks-all").AssertSuccess();
        Assert.Equal("prestart creating\ncreateRuntime creating\ncreateContainer creating\nstartContainer created\npoststart running\npoststop stopped\n",
            File.ReadAllText(log));
    }

    [IntegrationFact]
    public void AFailingCreateRuntimeHookFailsCreateAndLeavesNothing()
    {
        AddHook("createRuntime", "echo refused >&2; exit 7");
        string error = _runsc.Run("create", "--bundle", _bundle, "refused").AssertOneLineError();
        Assert.Contains("createRuntime hook", error);
        Assert.Contains("7", error);
        Assert.Empty(Directory.GetFileSystemEntries(_runsc.Root));
    }
}
