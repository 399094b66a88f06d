using RunscNet.Runtime;
using RunscNet.Runtime.Cgroups;
using RunscNet.Runtime.Cli.Commands;
using Xunit;

namespace RunscNet.Tests.Runtime;

public sealed class CgroupPathTests
{
    [Theory]
    [InlineData(null, false, "c1", "/runsc-net/c1")]
    [InlineData("/kubepods/pod1/c1", false, "c1", "/kubepods/pod1/c1")]
    [InlineData("mygroup/c1", false, "c1", "mygroup/c1")]
    [InlineData("system.slice:libpod:abc", true, "abc", "/system.slice/libpod-abc.scope")]
    [InlineData("machine-libpod_pod_1.slice:libpod:abc", true, "abc", "/machine.slice/machine-libpod_pod_1.slice/libpod-abc.scope")]
    [InlineData(":runsc:x", true, "x", "/system.slice/runsc-x.scope")]
    [InlineData("-.slice:p:n", true, "n", "/p-n.scope")]
    public void ResolvesCgroupfsAndSystemdPaths(string? spec, bool systemd, string id, string expected)
        => Assert.Equal(expected, CgroupPath.Resolve(spec, systemd, id));

    [Theory]
    [InlineData("../escape", false)]
    [InlineData("a/../../b", false)]
    [InlineData("only:two", true)]
    [InlineData("notaslice:p:n", true)]
    public void RejectsMalformedPaths(string spec, bool systemd)
        => Assert.Throws<RuntimeError>(() => CgroupPath.Resolve(spec, systemd, "x"));

    [Theory]
    [InlineData("5s", 5000)]
    [InlineData("500ms", 500)]
    [InlineData("1m", 60000)]
    [InlineData("2", 2000)]
    public void ParsesIntervals(string text, int milliseconds)
        => Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), EventsCommand.ParseDuration(text));

    [Fact]
    public void StatsEventsLookLikeRuncs()
    {
        string line = EventsCommand.Format("c", new CgroupStats(5, 6, 7, 8, ulong.MaxValue));
        using var doc = System.Text.Json.JsonDocument.Parse(line);
        var data = doc.RootElement.GetProperty("data");
        Assert.Equal("stats", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal(5UL, data.GetProperty("cpu").GetProperty("usage").GetProperty("total").GetUInt64());
        Assert.Equal(6UL, data.GetProperty("memory").GetProperty("usage").GetProperty("usage").GetUInt64());
        Assert.Equal(8UL, data.GetProperty("pids").GetProperty("current").GetUInt64());
        Assert.Equal(0UL, data.GetProperty("pids").GetProperty("limit").GetUInt64());
    }
}
