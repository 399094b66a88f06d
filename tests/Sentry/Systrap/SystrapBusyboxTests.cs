using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Platform.Systrap;
using RunscNet.Tests.Sentry.Exec;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Sentry.Systrap;

/// <summary>The Sentry's busybox runs (echo, a shell with fork/exec, signals, timeouts) on the systrap platform.</summary>
[Collection("systrap stubs")]
public class SystrapBusyboxTests
{
    private static readonly SystrapPlatform Platform = new();
    private readonly ITestOutputHelper _log;

    public SystrapBusyboxTests(ITestOutputHelper log) => _log = log;

    private (int Status, string Output) Run(params string[] argv)
    {
        var h = new SentryHarness(SentryHarness.BusyboxRoot);
        h.Kernel.Platform = Platform;
        var sw = new StringWriter();
        h.Kernel.Log = new DebugLog(sw);
        h.Kernel.Strace = Environment.GetEnvironmentVariable("SX_STRACE") == "1";
        int status = h.Run(argv);
        _log.WriteLine(h.Output);
        _log.WriteLine(sw.ToString());
        return (status, h.Output);
    }

    [RootfsFact]
    public void EchoPrintsAndExitsZero()
    {
        var (status, output) = Run("/bin/busybox", "echo", "hello", "world");
        Assert.Equal("hello world\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void ShellForksWaitsHandlesASignalAndExits()
    {
        var (status, output) = Run("/bin/busybox", "sh", "-c",
            "echo hi; /bin/busybox echo child; (exit 5); echo $?; trap 'echo usr1' USR1; kill -USR1 $$; exit 42");
        Assert.Equal("hi\nchild\n5\nusr1\n", output);
        Assert.Equal(WaitStatus.Exited(42), status);
    }

    [RootfsFact]
    public void SignalFromAChildInterruptsTheWaitingParent()
    {
        // (No background job: in this harness's empty root a background child's open of
        // /dev/null races with the kill, natively too.)
        var (status, output) = Run("/bin/sh", "-c", "trap 'echo got TERM' TERM; sh -c 'kill -TERM $PPID; echo child done'; echo after");
        Assert.Equal("child done\ngot TERM\nafter\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void TimeoutKillsASleep()
    {
        var (status, output) = Run("/bin/sh", "-c", "timeout 1 sleep 5; echo $?");
        Assert.Equal("Terminated\n143\n", output);   // as busybox prints natively
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void TwoHundredForkExecsComplete()
    {
        var (status, output) = Run("/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo $i");
        Assert.Equal("200\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }
}
