using System.Text.Json;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// `runsc-net ps` shows the container's processes as the Sentry sees them: pids of the
/// container's pid namespace, their users and command lines, never the sandbox's host processes
/// (boot, stubs, gofer); `--format json` is the list of those pids, as runc prints a list.
/// </summary>
public sealed class PsCommandTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    [IntegrationFact(needsRootfs: true)]
    public void PsListsTheSentrysProcesses()
    {
        string bundle = Bundles.Make("/bin/sh", "-c", "sleep 300 & exec sleep 301");
        _dirs.Add(bundle);
        string id = "ps-" + Guid.NewGuid().ToString("N")[..8];
        _runsc.Run("create", "--bundle", bundle, id).AssertSuccess();
        _runsc.Run("start", id).AssertSuccess();
        try
        {
            // Wait until both sleeps run (init has exec'd and its child has too).
            string table = "";
            for (int i = 0; i < 100 && !(table.Contains("sleep 300") && table.Contains("sleep 301")); i++)
            {
                Thread.Sleep(100);
                table = _runsc.Run("ps", id).AssertSuccess().Stdout;
            }
            string[] lines = table.TrimEnd('\n').Split('\n');
            Assert.Equal(["UID", "PID", "PPID", "STATE", "CMD"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            var rows = lines.Skip(1).Select(l => l.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries)).ToList();
            Assert.Equal(2, rows.Count);
            Assert.Equal(["0", "1", "0"], rows[0][..3]);
            Assert.Equal("sleep 301", rows[0][4]);
            Assert.Equal(["0", "2", "1"], rows[1][..3]);
            Assert.Equal("sleep 300", rows[1][4]);
            var json = JsonDocument.Parse(_runsc.Run("ps", "--format", "json", id).AssertSuccess().Stdout).RootElement;
            Assert.Equal([1, 2], json.EnumerateArray().Select(e => e.GetInt32()).ToArray());
            Assert.Contains("--format", _runsc.Run("ps", "--format", "yaml", id).AssertOneLineError());
        }
        finally
        {
            _runsc.Run("kill", id, "KILL");
        }
    }
}
