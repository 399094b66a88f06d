using System.Text.Json;
using RunscNet.Runtime;
using RunscNet.Runtime.Bundle;
using RunscNet.StateFile.Oci;
using RunscNet.Tests.StateFile;
using Xunit;

namespace RunscNet.Tests.Runtime;

public sealed class BundleConfigTests : IDisposable
{
    private readonly TempRoot _dir = new();

    public void Dispose() => _dir.Dispose();

    private void Write(Spec spec, bool makeRootfs = true)
    {
        if (makeRootfs) Directory.CreateDirectory(Path.Combine(_dir.Path, "rootfs"));
        File.WriteAllBytes(Path.Combine(_dir.Path, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.Spec));
    }

    private RuntimeError LoadFails() => Assert.Throws<RuntimeError>(() => BundleConfig.Load(_dir.Path));

    [Fact]
    public void TheDefaultSpecLoadsAndResolvesTheRootfs()
    {
        Write(DefaultSpec.Create());
        var bundle = BundleConfig.Load(_dir.Path);
        Assert.Equal(Path.Combine(_dir.Path, "rootfs"), bundle.Rootfs);
        Assert.Equal(_dir.Path, bundle.Directory);
        Assert.Equal(new[] { "sh" }, bundle.Spec.Process!.Args);
        Assert.True(bundle.Spec.Process.Terminal);
        Assert.Contains(bundle.Spec.Linux!.Namespaces!, n => n.Type == "pid");
    }

    [Fact]
    public void AnAbsoluteRootPathIsKept()
    {
        string elsewhere = Directory.CreateTempSubdirectory("runsc-net-rootfs-").FullName;
        try
        {
            var spec = DefaultSpec.Create();
            spec.Root!.Path = elsewhere;
            Write(spec, makeRootfs: false);
            Assert.Equal(elsewhere, BundleConfig.Load(_dir.Path).Rootfs);
        }
        finally
        {
            Directory.Delete(elsewhere);
        }
    }

    [Fact]
    public void MissingArgsAreRefused()
    {
        var spec = DefaultSpec.Create();
        spec.Process!.Args = [];
        Write(spec);
        Assert.Contains("process.args", LoadFails().Message);
    }

    [Fact]
    public void AMissingRootfsIsRefused()
    {
        Write(DefaultSpec.Create(), makeRootfs: false);
        Assert.Contains("root.path", LoadFails().Message);
    }

    [Fact]
    public void AnUnsupportedVersionIsRefused()
    {
        var spec = DefaultSpec.Create();
        spec.OciVersion = "2.0.0";
        Write(spec);
        Assert.Contains("ociVersion", LoadFails().Message);
    }

    [Theory]
    [InlineData("pidz", null)]
    [InlineData("pid", "pid")]
    [InlineData("network", "relative/path")]
    public void BadNamespacesAreRefused(string type, string? second)
    {
        var spec = DefaultSpec.Create();
        if (second == "pid") spec.Linux!.Namespaces!.Add(new Namespace { Type = "pid" });
        else if (second != null) spec.Linux!.Namespaces!.Add(new Namespace { Type = "user", Path = second });
        else spec.Linux!.Namespaces!.Add(new Namespace { Type = type });
        Write(spec);
        Assert.Contains("linux.namespaces", LoadFails().Message);
    }

    [Fact]
    public void MalformedJsonIsAOneLineError()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "config.json"), "{\"ociVersion\": \"1.0.2\", \"process\": {");
        var e = LoadFails();
        Assert.Contains("malformed JSON", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AMissingConfigSaysHowToMakeOne()
    {
        Assert.Contains("runsc-net spec", LoadFails().Message);
    }

    [Fact]
    public void ARelativeCwdIsRefused()
    {
        var spec = DefaultSpec.Create();
        spec.Process!.Cwd = "work";
        Write(spec);
        Assert.Contains("process.cwd", LoadFails().Message);
    }
}
