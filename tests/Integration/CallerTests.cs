using System.Diagnostics;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Real callers drive the published binary: podman (through conmon) and containerd's ctr. Each
/// test imports the busybox rootfs as a local image and skips, saying why, when its caller is not
/// installed or containerd does not answer (.ci/run installs both and starts containerd).
/// </summary>
public sealed class CallerTests
{
    private static (int Code, string Out, string Err) Sh(string script, int timeoutSeconds = 120) => HostShell.Sh(script, timeoutSeconds);

    // The attributes skip the test when these are missing.
    private static string Runsc => RunscNetBinary.Path!;

    private static string Rootfs => TestRequirements.Rootfs!;

    [IntegrationFact(needsRootfs: true, needsTools: "podman")]
    public void PodmanRunPrintsAndExitsWithTheContainersStatus()
    {
        var import = Sh($"tar -C '{Rootfs}' -c . | podman import - localhost/runsc-net-test:busybox");
        Assert.True(import.Code == 0, import.Err);
        var run = Sh($"podman --runtime '{Runsc}' run --rm localhost/runsc-net-test:busybox sh -c 'echo hi; exit 3'");
        Assert.Equal("hi\n", run.Out);
        Assert.Equal(3, run.Code);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "podman")]
    public void PodmanExecReportsTheExecStatus()
    {
        Assert.Equal(0, Sh($"tar -C '{Rootfs}' -c . | podman import - localhost/runsc-net-test:busybox").Code);
        string name = "runsc-net-exec-" + Environment.ProcessId;
        try
        {
            var start = Sh($"podman --runtime '{Runsc}' run -d --name {name} localhost/runsc-net-test:busybox sleep 60");
            Assert.True(start.Code == 0, start.Err);
            var exec = Sh($"podman --runtime '{Runsc}' exec {name} sh -c 'echo in-exec; exit 4'");
            Assert.Equal("in-exec\n", exec.Out);
            Assert.Equal(4, exec.Code);
        }
        finally
        {
            Sh($"podman --runtime '{Runsc}' rm -f -t 0 {name}");
        }
    }

    // podman makes the OCI image archive that ctr imports.
    [IntegrationFact(needsRootfs: true, needsTools: "ctr podman", needsContainerd: true)]
    public void CtrRunWithRuncBinary()
    {
        var version = Sh("timeout 10 ctr version");
        Assert.True(version.Code == 0, "containerd accepts connections but ctr version failed: " + version.Err);
        string dir = Directory.CreateTempSubdirectory("runsc-net-ctr").FullName;
        try
        {
            // An OCI image archive made by podman from the same rootfs.
            var image = Sh($"tar -C '{Rootfs}' -c . | podman import - localhost/runsc-net-test:busybox >/dev/null && " +
                $"podman save --format oci-archive -o '{dir}/img.tar' localhost/runsc-net-test:busybox >/dev/null && " +
                $"ctr images import --base-name localhost/runsc-net-test '{dir}/img.tar'");
            Assert.True(image.Code == 0, image.Err);
            string id = "runsc-net-ctr-" + Environment.ProcessId;
            var run = Sh($"ctr run --runc-binary '{Runsc}' --rm localhost/runsc-net-test:busybox {id} sh -c 'echo hi; exit 5'");
            Assert.Equal("hi\n", run.Out);
            Assert.Equal(5, run.Code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
