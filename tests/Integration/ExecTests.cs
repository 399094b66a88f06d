using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>`exec` into a running container, attached and detached (the way conmon drives it).</summary>
public sealed class ExecTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private string StartSleeper(string id)
    {
        string b = Bundles.Make("sleep", "60");
        _bundles.Add(b);
        _runsc.Run("run", "--detach", "--bundle", b, id).AssertSuccess();
        return b;
    }

    [IntegrationFact(needsRootfs: true)]
    public void AttachedExecExitsWithTheProcessStatus()
    {
        StartSleeper("exec-attached");
        var r = _runsc.Run("exec", "exec-attached", "sh", "-c", "echo in-exec; exit 5");
        Assert.Equal(5, r.ExitCode);
        Assert.Equal("in-exec\n", r.Stdout);
        _runsc.Run("delete", "--force", "exec-attached").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void DetachedExecPidFileNamesAHostWaiterThatLivesAsLongAsTheProcess()
    {
        StartSleeper("exec-detached");
        string pidFile = Path.Combine(_runsc.Root, "exec.pid");
        _runsc.Run("exec", "--detach", "--pid-file", pidFile, "exec-detached", "sleep", "1").AssertSuccess();
        int pid = int.Parse(File.ReadAllText(pidFile).Trim());
        // conmon waits on this pid for the exec's status: it must be our `wait --pid` on the host
        // (--kill-on-exit: killing it kills the process).
        // The waiter may not have reached its execve yet when exec returns (until then its
        // cmdline is empty, or the cloning exec's own), so look again for a while.
        string cmdline = "";
        for (var until = DateTime.UtcNow + TimeSpan.FromSeconds(5); !cmdline.Contains(" wait --kill-on-exit --pid ") && DateTime.UtcNow < until; Thread.Sleep(10))
            cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        Assert.Contains(" wait --kill-on-exit --pid ", cmdline);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (File.Exists($"/proc/{pid}/cmdline") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z") && DateTime.UtcNow < deadline)
            Thread.Sleep(50);
        bool gone = !File.Exists($"/proc/{pid}/cmdline") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z");
        Assert.True(gone, "the waiter outlived the exec'd process by 30 s");
        _runsc.Run("delete", "--force", "exec-detached").AssertSuccess();
    }
}
