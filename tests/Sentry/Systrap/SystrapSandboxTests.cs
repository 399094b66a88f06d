using RunscNet.Sentry.Boot;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Platform.Systrap;
using RunscNet.StateFile.Oci;
using RunscNet.Tests.Gofer;
using RunscNet.Tests.Sentry.Exec;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Sentry.Systrap;

/// <summary>
/// A whole sandbox in-process on the systrap platform: the busybox rootfs served by an in-process
/// gofer, the VFS from a spec (with /dev and /proc), init's stdout and stderr in a host file.
/// </summary>
[Collection("systrap stubs")]
public class SystrapSandboxTests
{
    private readonly ITestOutputHelper _log;

    public SystrapSandboxTests(ITestOutputHelper log) => _log = log;

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var e in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            string dest = Path.Combine(to, e.Name);
            if (e.LinkTarget != null) File.CreateSymbolicLink(dest, e.LinkTarget);
            else if (e is DirectoryInfo) CopyTree(e.FullName, dest);
            else File.Copy(e.FullName, dest);
        }
    }

    private (int Status, string Output) RunContainer(params string[] args)
    {
        using var gofer = new GoferHarness();
        CopyTree(SentryHarness.BusyboxRoot, gofer.Root);
        Directory.CreateDirectory(Path.Combine(gofer.Root, "tmp"));
        var spec = new Spec
        {
            Root = new Root { Path = gofer.Root },
            Hostname = "boxed",
            Process = new Process { Args = args.ToList(), Env = new List<string> { "PATH=/bin", "HOME=/" }, Cwd = "/" },
            Mounts = new List<Mount>(),
        };
        string outPath = Path.Combine(gofer.Base, "stdout");
        using var stdout = File.OpenHandle(outPath, FileMode.Create, FileAccess.Write);
        using var stdin = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
        int outFd = (int)stdout.DangerousGetHandle();
        var logWriter = new StringWriter();
        var sandbox = SentrySandbox.Create(spec, gofer.Client, new[] { (int)stdin.DangerousGetHandle(), outFd, outFd },
            -1, new DebugLog(TextWriter.Synchronized(logWriter)), strace: false, new SystrapPlatform());
        sandbox.Start();
        Assert.True(sandbox.Kernel.InitExited.Wait(60_000), "init did not exit within 60 s");
        string output = File.ReadAllText(outPath);
        _log.WriteLine(output);
        _log.WriteLine(logWriter.ToString());
        return (sandbox.Kernel.InitExitStatus, output);
    }

    [RootfsFact]
    public void AcceptanceShellScriptMatchesNativeBehaviour()
    {
        var (status, output) = RunContainer("/bin/sh", "-c",
            "echo hello; seq 1 2000 | sort -rn | head -3; (sleep 0.2; echo child) & wait; trap \"echo usr1\" USR1; kill -USR1 $$; exit 42");
        Assert.Equal("hello\n2000\n1999\n1998\nchild\nusr1\n", output);
        Assert.Equal(WaitStatus.Exited(42), status);
    }

    [RootfsFact]
    public void TimeoutEndsSleepWith143()
    {
        var (status, output) = RunContainer("/bin/sh", "-c", "timeout 1 sleep 5; echo $?");
        Assert.Equal("Terminated\n143\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void SignalFromAnotherProcessEndsABackgroundJob()
    {
        var (status, output) = RunContainer("/bin/sh", "-c", "sleep 5 & p=$!; kill -TERM $p; wait $p; echo $?");
        Assert.EndsWith("143\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void StoppedJobContinuesAndItsStatusIsReported()
    {
        var (status, output) = RunContainer("/bin/sh", "-c", "sleep 0.3 & p=$!; kill -STOP $p; kill -CONT $p; wait $p; echo $?");
        Assert.Equal("0\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void FilesProcAndPipesWork()
    {
        var (status, output) = RunContainer("/bin/sh", "-c",
            "echo data > /tmp/f; cat /tmp/f | wc -c; cat /proc/self/comm; ls /dev/null; i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done; echo $i");
        Assert.Equal("5\ncat\n/dev/null\n50\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }
}
