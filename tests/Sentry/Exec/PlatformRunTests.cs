using RunscNet.Sentry.Kernel;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Sentry.Exec;

public class PlatformRunTests
{
    private readonly ITestOutputHelper _log;

    public PlatformRunTests(ITestOutputHelper log) => _log = log;

    [RootfsFact]
    public void BusyboxEchoPrintsAndExitsZero()
    {
        var h = new SentryHarness(SentryHarness.BusyboxRoot);
        int status = h.Run("/bin/busybox", "echo", "hello", "world");
        _log.WriteLine(h.Output);
        Assert.Equal(WaitStatus.Exited(0), status);
        Assert.Equal("hello world\n", h.Output);
    }
}

public class PlatformShellTests
{
    private readonly ITestOutputHelper _log;

    public PlatformShellTests(ITestOutputHelper log) => _log = log;

    [RootfsFact]
    public void ShellForksWaitsAndExits()
    {
        var h = new SentryHarness(SentryHarness.BusyboxRoot);
        var sw = new StringWriter();
        h.Kernel.Log = new DebugLog(sw);
        h.Kernel.Strace = Environment.GetEnvironmentVariable("SX_STRACE") == "1";
        int status = h.Run("/bin/busybox", "sh", "-c", "echo hi; /bin/busybox echo child; (exit 5); echo $?; trap 'echo usr1' USR1; kill -USR1 $$; exit 42");
        _log.WriteLine(h.Output);
        _log.WriteLine(sw.ToString());
        Assert.Equal("hi\nchild\n5\nusr1\n", h.Output);
        Assert.Equal(WaitStatus.Exited(42), status);
    }
}

public class PlatformProcessTests
{
    private readonly ITestOutputHelper _log;

    public PlatformProcessTests(ITestOutputHelper log) => _log = log;

    private (int, string) RunShell(string script)
    {
        var h = new SentryHarness(SentryHarness.BusyboxRoot);
        var sw = new StringWriter();
        h.Kernel.Log = new DebugLog(sw);
        h.Kernel.Strace = Environment.GetEnvironmentVariable("SX_STRACE") == "1";
        int status = h.Run("/bin/sh", "-c", script);
        _log.WriteLine(h.Output);
        _log.WriteLine(sw.ToString());
        return (status, h.Output);
    }

    [RootfsFact]
    public void TwoHundredForkExecsComplete()
    {
        var (status, output) = RunShell("i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo $i");
        Assert.Equal("200\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }
}
