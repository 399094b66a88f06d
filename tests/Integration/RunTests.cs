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

    [IntegrationFact(needsRootfs: true)]
    public void RunPrintsAndExitsWithTheContainersStatus()
    {
        var r = _runsc.Run("run", "--bundle", Bundle("sh", "-c", "echo hi; exit 3"), "run-exit");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("hi\n", r.Stdout);
        Assert.Empty(Directory.GetFiles(_runsc.Root, "*.state"));
    }
    [IntegrationFact(needsRootfs: true)]
    public void LoopbackIsUpInTheContainersNetworkNamespace()
    {
        // As runc's "loopback" network: lo is up, so a server and client on 127.0.0.1 talk.
        var r = _runsc.Run("run", "--bundle", Bundle("sh", "-c",
            // The client retries until the server listens, with no bound of its own: a count of
            // tries is a timed assertion that a loaded machine fails (the harness's command
            // timeout still ends a run where lo is down).
            "nc -l -p 7777 & until echo over-loopback | nc 127.0.0.1 7777 2>/dev/null; do sleep 0.05; done; wait"),
            "run-loopback");
        Assert.Equal("over-loopback\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }
    /// <summary>Runs <paramref name="shell"/> with RUNSC (the binary) and ROOT set; returns its exit code and stdout.</summary>
    private (int Code, string Out) Shell(string shell)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(shell);
        psi.Environment["RUNSC"] = RunscNetBinary.Path!;
        psi.Environment["ROOT"] = _runsc.Root;
        using var p = System.Diagnostics.Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "timed out: " + shell);
        return (p.ExitCode, stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void PreservedFdsReachInitAndExecAsFdsThreeAndUp()
    {
        string dir = Directory.CreateTempSubdirectory("runsc-net-preserve-").FullName;
        _bundles.Add(dir);
        File.WriteAllText(Path.Combine(dir, "in"), "from-fd-3\n");
        string run = Bundle("sh", "-c", "cat <&3; echo to-fd-4 >&4; ls /proc/self/fd | wc -l");
        var r = Shell($"exec 3<'{dir}/in' 4>'{dir}/out' </dev/null; exec \"$RUNSC\" --root \"$ROOT\" run --preserve-fds 2 --bundle '{run}' preserve-run");
        Assert.Equal(0, r.Code);
        // fds 0-4 and the one ls reads the directory through.
        Assert.Equal("from-fd-3\n6\n", r.Out);
        Assert.Equal("to-fd-4\n", File.ReadAllText(Path.Combine(dir, "out")));

        _runsc.Run("run", "--detach", "--bundle", Bundle("sleep", "60"), "preserve-exec").AssertSuccess();
        var e = Shell($"exec 3<'{dir}/in' </dev/null; exec \"$RUNSC\" --root \"$ROOT\" exec --preserve-fds 1 preserve-exec sh -c 'cat <&3'");
        Assert.Equal((0, "from-fd-3\n"), e);
        _runsc.Run("delete", "--force", "preserve-exec").AssertSuccess();
    }
}
