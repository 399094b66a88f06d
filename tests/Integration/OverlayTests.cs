using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>`--overlay memory`: the container writes and deletes in its rootfs; the host rootfs is unchanged.</summary>
public sealed class OverlayTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private string? _bundle;

    public void Dispose()
    {
        _runsc.Dispose();
        if (_bundle != null) Directory.Delete(_bundle, recursive: true);
    }

    [IntegrationFact(needsRootfs: true)]
    public void MemoryOverlayKeepsTheHostRootfsUnchanged()
    {
        string rootfs = TestRequirements.Rootfs!;
        string name = "overlay-" + Environment.ProcessId;
        _bundle = Bundles.Make("sh", "-c", $"echo data > /{name} && rm /bin/true && cat /{name} && ls /bin/true 2>&1");
        string configPath = Path.Combine(_bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["readonly"] = false;
        File.WriteAllText(configPath, config.ToJsonString());
        try
        {
            var r = _runsc.Run("--overlay", "memory", "run", "--bundle", _bundle, name);
            Assert.Contains("data\n", r.Stdout);
            Assert.DoesNotContain("/bin/true\n", r.Stdout.Replace("No such file", ""));
            Assert.False(File.Exists(Path.Combine(rootfs, name)), "the container's new file reached the host rootfs");
            Assert.True(File.Exists(Path.Combine(rootfs, "bin", "true")) || new FileInfo(Path.Combine(rootfs, "bin", "true")).LinkTarget != null,
                "the container's delete reached the host rootfs");
        }
        finally
        {
            File.Delete(Path.Combine(rootfs, name));
        }
    }
}
