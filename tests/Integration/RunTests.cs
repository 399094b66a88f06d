using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>`run` of busybox programs: output reaches our stdout, the exit status is the container's.</summary>
public sealed class RunTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private string Bundle(params string[] args)
    {
        string b = Bundles.Make(args);
        _bundles.Add(b);
        return b;
    }

    private static bool HaveBusybox => Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS") is { Length: > 0 } r
        && File.Exists(Path.Combine(r, "bin", "busybox"));

    [IntegrationFact]
    public void RunPrintsAndExitsWithTheContainersStatus()
    {
        if (!HaveBusybox) return; // RUNSC_NET_ROOTFS (scripts/test.sh) names the busybox rootfs
        var r = _runsc.Run("run", "--bundle", Bundle("sh", "-c", "echo hi; exit 3"), "run-exit");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("hi\n", r.Stdout);
        Assert.Empty(Directory.GetFiles(_runsc.Root, "*.state"));
    }
    [IntegrationFact]
    public void LoopbackIsUpInTheContainersNetworkNamespace()
    {
        if (!HaveBusybox) return;
        // As runc's "loopback" network: lo is up, so a server and client on 127.0.0.1 talk.
        var r = _runsc.Run("run", "--bundle", Bundle("sh", "-c",
            "nc -l -p 7777 & sleep 0.5; echo over-loopback | nc 127.0.0.1 7777; wait"), "run-loopback");
        Assert.Equal("over-loopback\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }
}
