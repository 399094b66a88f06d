using RunscNet.Runtime;
using RunscNet.Runtime.Cli;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Platform.Systrap;
using Xunit;

namespace RunscNet.Tests.Sentry.Systrap;

/// <summary>The --platform flag and the factory the boot process uses.</summary>
public class PlatformChoiceTests
{
    [Fact]
    public void FactoryCreatesEachNamedPlatformAndRefusesOthers()
    {
        Assert.IsType<PtracePlatform>(PlatformFactory.Create("ptrace"));
        Assert.IsType<SystrapPlatform>(PlatformFactory.Create("systrap"));
        Assert.Throws<ArgumentException>(() => PlatformFactory.Create("kvm"));
        Assert.Contains(PlatformFactory.Default, PlatformFactory.Names);
    }

    [Fact]
    public void GlobalFlagSelectsThePlatformAndIsHandedToBoot()
    {
        Assert.Equal(PlatformFactory.Default, GoFlagNormalizer.ParseGlobal(["run", "x"]).Options.Platform);
        var options = GoFlagNormalizer.ParseGlobal(["--platform=systrap", "run", "x"]).Options;
        Assert.Equal("systrap", options.Platform);
        Assert.Equal("systrap", GoFlagNormalizer.ParseGlobal([.. options.ToArguments(), "boot"]).Options.Platform);
        Assert.Throws<RuntimeError>(() => GoFlagNormalizer.ParseGlobal(["--platform", "kvm", "run"]));
    }
}
