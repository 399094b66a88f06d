using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Information leak: /proc/PID/mounts and mountinfo inside the container must not show host
/// paths (the bundle, the rootfs, a bind mount's host source). Bind mounts show "none" as their
/// source, as gVisor does, and only the last component of the host directory as mountinfo's root
/// field (runc shows the host device, and the whole host directory).
/// </summary>
public sealed class MountInfoTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly string _hostDir = Directory.CreateTempSubdirectory("runsc-net-mountinfo-").FullName;
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
        Directory.Delete(_hostDir, recursive: true);
    }

    [IntegrationFact(needsRootfs: true)]
    public void NoHostPathInTheMountTables()
    {
        string bundle = SecurityBundles.Make(
            ["sh", "-c", "cat /proc/self/mountinfo; echo ==; cat /proc/self/mounts; echo ==; cat /proc/1/mountinfo; echo ==; cat /proc/mounts"],
            (_hostDir, "/tmp"));
        _bundles.Add(bundle);
        string output = _runsc.Run("run", "--bundle", bundle, "mountinfo-" + Guid.NewGuid().ToString("N")[..8]).AssertSuccess().Stdout;
        string[] tables = output.Split("==\n");
        Assert.Equal(4, tables.Length);
        Assert.All(tables, t => Assert.Contains(" /tmp ", t));
        string rootfs = Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS")!;
        foreach (string hostPath in new[] { bundle, _hostDir, Path.GetFullPath(rootfs).TrimEnd('/'), SyscallProbe.Compile("hostuds").TrimEnd('/') })
        {
            Assert.DoesNotContain(hostPath, output);
        }
        // mountinfo(5): "ID PARENT MAJ:MIN ROOT POINT OPTIONS - TYPE SOURCE SUPER"; mounts: "SOURCE POINT TYPE ...".
        string info = tables[0].Split('\n').Single(l => l.Split(' ') is [_, _, _, _, "/tmp", ..]);
        string[] f = info.Split(' ');
        Assert.Equal("/" + Path.GetFileName(_hostDir), f[3]);
        Assert.Equal(["9p", "none"], f[(Array.IndexOf(f, "-") + 1)..(Array.IndexOf(f, "-") + 3)]);
        Assert.StartsWith("none /tmp 9p ", tables[1].Split('\n').Single(l => l.Contains(" /tmp ")));
    }
}
