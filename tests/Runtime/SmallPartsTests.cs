using System.Text.Json;
using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Cli.Commands;
using RunscNet.Runtime.Lifecycle;
using RunscNet.Runtime.Logging;
using RunscNet.StateFile.Oci;
using Xunit;

namespace RunscNet.Tests.Runtime;

public sealed class SmallPartsTests
{
    [Fact]
    public void JsonLogLinesHaveLevelMsgAndTime()
    {
        var time = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        string line = RuntimeLog.Format(LogFormat.Json, LogLevel.Error, "container \"x\" failed", time);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal("error", doc.RootElement.GetProperty("level").GetString());
        Assert.Equal("container \"x\" failed", doc.RootElement.GetProperty("msg").GetString());
        Assert.StartsWith("2024-05-06T07:08:09", doc.RootElement.GetProperty("time").GetString());
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void TextLogLinesAreLogrusStyle()
    {
        string line = RuntimeLog.Format(LogFormat.Text, LogLevel.Warning, "a \"b\"\nc", new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.StartsWith("time=\"2024-01-01T00:00:00", line);
        Assert.Contains("level=warning msg=\"a \\\"b\\\"\\nc\"", line);
    }

    [Fact]
    public void DebugLogsGetOneFilePerProcess()
    {
        string dir = Path.Combine(Path.GetTempPath(), "runsc-net-debuglog-" + Guid.NewGuid().ToString("N"));
        try
        {
            var now = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            string a = RuntimeLog.DebugLogFileName(dir + "/", "create", 10, now);
            string b = RuntimeLog.DebugLogFileName(dir, "boot", 11, now);
            Assert.Equal(dir, Path.GetDirectoryName(a));
            Assert.NotEqual(a, b);
            Assert.EndsWith(".10.create.log", a);
            Assert.Equal("/x/log-12-gofer", RuntimeLog.DebugLogFileName("/x/log-%PID%-%COMMAND%", "gofer", 12, now));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ParsesProcStatWithAwkwardCommandNames()
    {
        string fields = string.Join(' ', Enumerable.Range(3, 50).Select(i => i == 22 ? "777" : i == 3 ? "S" : "0"));
        var parsed = ProcessIdentity.ParseStat($"42 (a) b (c)) {fields}");
        Assert.Equal(('S', 777UL), parsed);
        Assert.Null(ProcessIdentity.ParseStat("garbage"));
    }

    [Fact]
    public void TellsOurOwnProcessFromAReusedPid()
    {
        int self = Environment.ProcessId;
        ulong start = ProcessIdentity.StartTime(self) ?? throw new Xunit.Sdk.XunitException("no /proc/self/stat");
        Assert.True(ProcessIdentity.IsAlive(self, start));
        Assert.False(ProcessIdentity.IsAlive(self, start + 1));
        Assert.False(ProcessIdentity.IsAlive(0, 0));
        Assert.False(ProcessIdentity.IsAlive(int.MaxValue, 0));
    }

    [Theory]
    [InlineData(0x0300, 3)]   // exit 3
    [InlineData(0x0009, 137)] // SIGKILL
    [InlineData(0x000f, 143)] // SIGTERM
    [InlineData(0x0000, 0)]
    public void WaitStatusesBecomeShellExitCodes(int status, int exitCode)
        => Assert.Equal(exitCode, WaitStatus.ToExitCode(status));

    [Fact]
    public void WaitStatusesRoundTrip()
    {
        Assert.Equal(3, WaitStatus.ExitCode(WaitStatus.FromExitCode(3)));
        Assert.True(WaitStatus.Signaled(WaitStatus.FromSignal(9)));
        Assert.Equal(9, WaitStatus.TermSignal(WaitStatus.FromSignal(9)));
    }

    [Fact]
    public void ListPrintsRuncsTable()
    {
        string table = ListCommand.FormatTable([
            new OciState { Id = "one", Pid = 12, Status = "created", Bundle = "/b", Owner = "root" },
            new OciState { Id = "second", Pid = 0, Status = "stopped", Bundle = "/bundle2", Owner = "root" },
        ]);
        string[] lines = table.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("ID ", lines[0]);
        Assert.Equal(lines[0].IndexOf("PID"), lines[1].IndexOf("12"));
        Assert.Contains("stopped", lines[2]);
    }

    [Fact]
    public void ControlSocketPathsFitASockaddr()
    {
        Assert.Equal("/run/x/abc.sock", ControlSocketPath.For("/run/x", "abc"));
        string longId = new('a', 110);
        string path = ControlSocketPath.For("/var/run/runsc-net", longId);
        Assert.True(path.Length <= 107);
        Assert.NotEqual(path, ControlSocketPath.For("/var/run/runsc-net", new string('b', 110)));
    }
}
