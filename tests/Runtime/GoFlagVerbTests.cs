using RunscNet.Runtime;
using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Cli.Commands;
using Xunit;

namespace RunscNet.Tests.Runtime;

/// <summary>A command's own Go-style flags as <see cref="GoFlagNormalizer.NormalizeVerb"/> hands them to CommandLineParser.</summary>
public sealed class GoFlagVerbTests
{
    [Fact]
    public void SingleDashLongNamesAndBooleanValuesBecomeCommandLineParserFlags()
        => Assert.Equal(new[] { "--detach", "--pid-file", "/p", "--", "id", "sh" },
            GoFlagNormalizer.NormalizeVerb(typeof(ExecCommand), ["-detach=true", "-pid-file", "/p", "id", "sh"]));

    [Fact]
    public void AFalseBooleanIsDropped()
        => Assert.Equal(new[] { "--", "id", "true" },
            GoFlagNormalizer.NormalizeVerb(typeof(ExecCommand), ["--detach=false", "id", "true"]));

    [Fact]
    public void ShortNamesTakeTheirLongName()
        => Assert.Equal(new[] { "--detach", "--env", "A=1", "--", "id", "env" },
            GoFlagNormalizer.NormalizeVerb(typeof(ExecCommand), ["-d", "-e", "A=1", "id", "env"]));

    [Fact]
    public void OptionsStopAtTheFirstPositional()
        => Assert.Equal(new[] { "--", "id", "sh", "-c", "echo x" },
            GoFlagNormalizer.NormalizeVerb(typeof(ExecCommand), ["id", "sh", "-c", "echo x"]));

    [Fact]
    public void ARepeatedSwitchCountsOnce()
        => Assert.Equal(new[] { "--leave-running", "--", "id" },
            GoFlagNormalizer.NormalizeVerb(typeof(CheckpointCommand), ["--leave-running", "--leave-running=true", "id"]));

    [Fact]
    public void AnUnknownFlagIsLeftForCommandLineParserToReport()
        => Assert.Equal(new[] { "--bogus", "--", "id" },
            GoFlagNormalizer.NormalizeVerb(typeof(CheckpointCommand), ["--bogus", "id"]));

    [Fact]
    public void ABadBooleanIsAnError()
        => Assert.Throws<RuntimeError>(() => GoFlagNormalizer.NormalizeVerb(typeof(ExecCommand), ["--detach=maybe", "id"]));
}
