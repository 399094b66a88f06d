using RunscNet.Runtime;
using RunscNet.Runtime.Cli;
using Xunit;

namespace RunscNet.Tests.Runtime;

public sealed class GlobalFlagTests
{
    [Fact]
    public void ReadsEveryGlobalFlagBeforeTheCommand()
    {
        var r = GoFlagNormalizer.ParseGlobal([
            "--root", "/r", "--log", "/l", "--log-format", "json", "--debug", "--debug-log", "/d/",
            "--systemd-cgroup", "--network", "none", "--strace", "create", "--bundle", "b", "id"]);
        Assert.Equal("/r", r.Options.Root);
        Assert.Equal("/l", r.Options.LogFile);
        Assert.Equal(LogFormat.Json, r.Options.LogFormat);
        Assert.True(r.Options.Debug);
        Assert.Equal("/d/", r.Options.DebugLog);
        Assert.True(r.Options.SystemdCgroup);
        Assert.Equal("none", r.Options.Network);
        Assert.True(r.Options.Strace);
        Assert.Equal("create", r.Command);
        Assert.Equal(new[] { "--bundle", "b", "id" }, r.CommandArguments);
    }

    [Fact]
    public void AcceptsGoFlagSpellings()
    {
        var r = GoFlagNormalizer.ParseGlobal(["-root=/r", "-log-format=text", "--debug=false", "-systemd-cgroup=true", "state", "x"]);
        Assert.Equal("/r", r.Options.Root);
        Assert.Equal(LogFormat.Text, r.Options.LogFormat);
        Assert.False(r.Options.Debug);
        Assert.True(r.Options.SystemdCgroup);
        Assert.Equal("state", r.Command);
    }

    [Fact]
    public void DefaultsMatchRunscConventions()
    {
        var r = GoFlagNormalizer.ParseGlobal(["list"]);
        Assert.Equal(GlobalOptions.DefaultRoot, r.Options.Root);
        Assert.Equal("sandbox", r.Options.Network);
        Assert.Equal(LogFormat.Text, r.Options.LogFormat);
        Assert.Null(r.Options.LogFile);
    }

    [Fact]
    public void RecognisesVersionAndHelp()
    {
        Assert.True(GoFlagNormalizer.ParseGlobal(["--version"]).ShowVersion);
        Assert.True(GoFlagNormalizer.ParseGlobal(["-v"]).ShowVersion);
        Assert.True(GoFlagNormalizer.ParseGlobal(["--help"]).ShowHelp);
        Assert.Null(GoFlagNormalizer.ParseGlobal(["--help"]).Command);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--log-format=xml")]
    [InlineData("--network=bridge")]
    [InlineData("--debug=maybe")]
    public void RejectsBadFlags(string flag)
        => Assert.Throws<RuntimeError>(() => GoFlagNormalizer.ParseGlobal([flag, "list"]));

    [Fact]
    public void AFlagWithoutItsValueIsAnError()
        => Assert.Throws<RuntimeError>(() => GoFlagNormalizer.ParseGlobal(["--root"]));

    [Fact]
    public void HandsTheFlagsOnToChildren()
    {
        var options = GoFlagNormalizer.ParseGlobal(["--root", "/r", "--debug-log", "/d/", "--network", "host", "--strace", "list"]).Options;
        var again = GoFlagNormalizer.ParseGlobal([.. options.ToArguments(), "boot"]).Options;
        Assert.Equal("/r", again.Root);
        Assert.Equal("/d/", again.DebugLog);
        Assert.Equal("host", again.Network);
        Assert.True(again.Strace);
    }
}
