using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Real callers drive the published binary: podman (through conmon) and containerd's ctr. Each
/// test imports the busybox rootfs as a local image and skips, saying why, when its caller is not
/// installed (.ci/run installs both and starts containerd).
/// </summary>
public sealed class CallerTests
{
    private readonly ITestOutputHelper _output;

    public CallerTests(ITestOutputHelper output) => _output = output;

    private static string? Rootfs => Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS") is { Length: > 0 } r
        && File.Exists(Path.Combine(r, "bin", "busybox")) ? r : null;

    private static string? Which(string tool) =>
        new[] { "/usr/bin", "/usr/sbin", "/usr/local/bin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static (int Code, string Out, string Err) Sh(string script, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"timed out: {script}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private bool Ready(string tool, out string runscNet, out string rootfs)
    {
        runscNet = RunscNetBinary.Path ?? "";
        rootfs = Rootfs ?? "";
        string? why = RunscNetBinary.Path == null ? "RUNSC_NET is not set" : Rootfs == null ? "RUNSC_NET_ROOTFS is not set"
            : Environment.UserName != "root" ? "not root" : Which(tool) == null ? $"{tool} is not installed" : null;
        if (why != null) _output.WriteLine($"skipped: {why}");
        return why == null;
    }

    [IntegrationFact]
    public void PodmanRunPrintsAndExitsWithTheContainersStatus()
    {
        if (!Ready("podman", out string runsc, out string rootfs)) return;
        var import = Sh($"tar -C '{rootfs}' -c . | podman import - localhost/runsc-net-test:busybox");
        Assert.True(import.Code == 0, import.Err);
        var run = Sh($"podman --runtime '{runsc}' run --rm localhost/runsc-net-test:busybox sh -c 'echo hi; exit 3'");
        Assert.Equal("hi\n", run.Out);
        Assert.Equal(3, run.Code);
    }

    [IntegrationFact]
    public void PodmanExecReportsTheExecStatus()
    {
        if (!Ready("podman", out string runsc, out string rootfs)) return;
        Assert.Equal(0, Sh($"tar -C '{rootfs}' -c . | podman import - localhost/runsc-net-test:busybox").Code);
        string name = "runsc-net-exec-" + Environment.ProcessId;
        try
        {
            var start = Sh($"podman --runtime '{runsc}' run -d --name {name} localhost/runsc-net-test:busybox sleep 60");
            Assert.True(start.Code == 0, start.Err);
            var exec = Sh($"podman --runtime '{runsc}' exec {name} sh -c 'echo in-exec; exit 4'");
            Assert.Equal("in-exec\n", exec.Out);
            Assert.Equal(4, exec.Code);
        }
        finally
        {
            Sh($"podman --runtime '{runsc}' rm -f -t 0 {name}");
        }
    }

    [IntegrationFact]
    public void CtrRunWithRuncBinary()
    {
        if (!Ready("ctr", out string runsc, out string rootfs)) return;
        // A socket file can outlive its daemon; ask the daemon. CI (.ci/run) starts one, so there
        // an unreachable daemon is a failure, not a skip.
        var version = Sh("timeout 10 ctr version");
        if (version.Code != 0)
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") != "true", "containerd is not answering: " + version.Err);
            _output.WriteLine("skipped: containerd is not answering on /run/containerd/containerd.sock");
            return;
        }
        string dir = Directory.CreateTempSubdirectory("runsc-net-ctr").FullName;
        try
        {
            // An OCI image archive made by podman from the same rootfs.
            var image = Sh($"tar -C '{rootfs}' -c . | podman import - localhost/runsc-net-test:busybox >/dev/null && " +
                $"podman save --format oci-archive -o '{dir}/img.tar' localhost/runsc-net-test:busybox >/dev/null && " +
                $"ctr images import --base-name localhost/runsc-net-test '{dir}/img.tar'");
            Assert.True(image.Code == 0, image.Err);
            string id = "runsc-net-ctr-" + Environment.ProcessId;
            var run = Sh($"ctr run --runc-binary '{runsc}' --rm localhost/runsc-net-test:busybox {id} sh -c 'echo hi; exit 5'");
            Assert.Equal("hi\n", run.Out);
            Assert.Equal(5, run.Code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
