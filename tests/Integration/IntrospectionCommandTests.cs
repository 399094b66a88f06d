using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// `runsc-net syscalls` (the live table: every x86-64 call with its support) and
/// `runsc-net debug ID --unimplemented|--stacks` (asked of a running sandbox over its control socket).
/// </summary>
public sealed class IntrospectionCommandTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs)
        {
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
        }
    }

    [IntegrationFact(needsRoot: false)]
    public void SyscallsListsEveryCallWithItsSupport()
    {
        string table = _runsc.Run("syscalls").AssertSuccess().Stdout;
        string[] lines = table.TrimEnd('\n').Split('\n');
        Assert.Equal("NR   NAME                     SUPPORT      NOTE", lines[0]);
        Assert.Matches(@"^0 +read +supported", lines[1]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^136 +ustat +unsupported +no handler: returns ENOSYS$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d+ +\w+ +partial +\S"));
        Assert.Matches(@"^\d+ calls: \d+ supported, \d+ partial, \d+ unsupported$", lines[^1]);

        var json = JsonNode.Parse(_runsc.Run("syscalls", "--format", "json").AssertSuccess().Stdout)!.AsArray();
        Assert.Equal(lines.Length - 2, json.Count);
        var numbers = json.Select(e => e!["number"]!.GetValue<int>()).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Contains(numbers, n => n == 334); // rseq: the last of the old range
        Assert.Contains(numbers, n => n == 435); // clone3
        var mmap = json.Single(e => e!["name"]!.GetValue<string>() == "mmap")!;
        Assert.Equal(9, mmap["number"]!.GetValue<int>());
        Assert.Contains(mmap["support"]!.GetValue<string>(), new[] { "supported", "partial" });
        Assert.All(json, e => Assert.Contains(e!["support"]!.GetValue<string>(), new[] { "supported", "partial", "unsupported" }));

        Assert.Equal("invalid --format xml: use table or json", _runsc.Run("syscalls", "--format", "xml").AssertOneLineError().Split(": ", 2)[1]);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void DebugShowsUnimplementedCallsPerProgramAndEachTasksCall()
    {
        string bundle = SyscallProbe.Bundle("unimplemented");
        _dirs.Add(bundle);
        string outFile = Path.Combine(bundle, "out"), errFile = Path.Combine(bundle, "err");
        _runsc.RunTo(outFile, errFile, TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, "dbg").AssertSuccess();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.ReadAllText(outFile).Contains("ready") && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.Equal("ready\n", File.ReadAllText(outFile));

        string[] un = _runsc.Run("debug", "dbg", "--unimplemented").AssertSuccess().Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("PROGRAM          NR   NAME                     COUNT", un[0]);
        Assert.Contains(un, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^unimplemented +136 +ustat +3$"));
        Assert.Contains(un, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^unimplemented +153 +vhangup +1$"));

        // Its one task waits in pause(2); stacks is asked from a new connection while it does.
        string[] st = _runsc.Run("debug", "dbg", "--stacks").AssertSuccess().Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("TID     PID     NAME             STATE       SYSCALL", st[0]);
        Assert.Matches(@"^1 +1 +unimplemented +in-syscall +pause \(34\)$", st[1]);
        Assert.Equal(2, st.Length);

        Assert.Contains("--unimplemented", _runsc.Run("debug", "dbg").AssertOneLineError());
        _runsc.Run("kill", "dbg", "KILL");
    }
}
