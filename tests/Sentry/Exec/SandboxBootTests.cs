using RunscNet.Sentry.Boot;
using RunscNet.Sentry.Control;
using RunscNet.Sentry.Kernel;
using RunscNet.StateFile.Oci;
using RunscNet.Tests.Gofer;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Sentry.Exec;

/// <summary>
/// A whole sandbox in-process: the busybox rootfs served by an in-process gofer, the VFS mount
/// table from a spec, init started through <see cref="ISandboxControl"/> with stdout/stderr in a
/// host file, on the real ptrace platform.
/// </summary>
public class SandboxBootTests
{
    private readonly ITestOutputHelper _log;

    public SandboxBootTests(ITestOutputHelper log) => _log = log;

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

    private (int Status, string Output, string Log) RunContainer(params string[] args) => RunContainer(null, args);

    private (int Status, string Output, string Log) RunContainer(Action<string>? prepare, params string[] args)
    {
        using var gofer = new GoferHarness();
        CopyTree(SentryHarness.BusyboxRoot, gofer.Root);
        prepare?.Invoke(gofer.Root);
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
            -1, new DebugLog(TextWriter.Synchronized(logWriter)), strace: false);
        sandbox.Start();
        Assert.True(sandbox.Kernel.InitExited.Wait(60_000), "init did not exit within 60 s");
        int status = sandbox.Kernel.InitExitStatus;
        string output = File.ReadAllText(outPath);
        _log.WriteLine(output);
        _log.WriteLine(logWriter.ToString());
        return (status, output, logWriter.ToString());
    }

    [RootfsFact]
    public void AcceptanceShellScriptMatchesNativeBehaviour()
    {
        var (status, output, _) = RunContainer("/bin/sh", "-c",
            "echo hello; seq 1 2000 | sort -rn | head -3; (sleep 0.2; echo child) & wait; trap \"echo usr1\" USR1; kill -USR1 $$; exit 42");
        Assert.Equal("hello\n2000\n1999\n1998\nchild\nusr1\n", output);
        Assert.Equal(WaitStatus.Exited(42), status);
    }

    [RootfsFact]
    public void TimeoutEndsSleepWith143()
    {
        var (status, output, _) = RunContainer("/bin/sh", "-c", "timeout 1 sleep 5; echo $?");
        Assert.Equal("Terminated\n143\n", output);   // as busybox prints natively
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void UnameAndHostnameComeFromTheSentry()
    {
        var (status, output, _) = RunContainer("/bin/sh", "-c", "uname -v; uname -r; hostname; cat /proc/self/comm; echo $$");
        Assert.Equal("#1 SMP runsc-net\n6.1.0\nboxed\ncat\n1\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void InitIgnoresUnhandledSignalsFromInside()
    {
        var (status, output, _) = RunContainer("/bin/sh", "-c", "kill -SEGV $$; kill -TERM $$; echo still here");
        // PID-namespace init ignores signals it has no handler for when they come from inside.
        Assert.Equal("still here\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void SignalFromAnotherProcessEndsABackgroundJob()
    {
        var (status, output, _) = RunContainer("/bin/sh", "-c", "sleep 5 & p=$!; kill -TERM $p; wait $p; echo $?");
        Assert.EndsWith("143\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void StoppedJobContinuesAndItsStatusIsReported()
    {
        var (status, output, _) = RunContainer("/bin/sh", "-c", "sleep 0.3 & p=$!; kill -STOP $p; kill -CONT $p; wait $p; echo $?");
        Assert.Equal("0\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsFact]
    public void MissingProgramFailsStartWithAClearMessage()
    {
        var e = Assert.Throws<InvalidOperationException>(() => RunContainer("/bin/no-such-program"));
        Assert.Equal("exec /bin/no-such-program: no such file or directory", e.Message);
    }

    /// <summary>Copies a host program and the libraries ldd names into the rootfs.</summary>
    private static void CopyDynamicProgram(string root, string program, IEnumerable<string> libs)
    {
        foreach (var f in libs.Append(program))
        {
            string dest = Path.Combine(root, f.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            if (!File.Exists(dest)) File.Copy(new FileInfo(f).ResolveLinkTarget(true)?.FullName ?? f, dest);
        }
    }

    /// <summary>Debian's /bin/ls and the libraries it loads (coreutils and its dependencies: every Debian has them).</summary>
    internal const string HostLsFiles = "/bin/ls /lib/x86_64-linux-gnu/libselinux.so.1 /lib/x86_64-linux-gnu/libc.so.6 " +
        "/lib/x86_64-linux-gnu/libpcre2-8.so.0 /lib64/ld-linux-x86-64.so.2";

    [RootfsFact(needsFiles: HostLsFiles)]
    public void DynamicGlibcProgramRunsLikeNatively()
    {
        string[] libs = HostLsFiles.Split(' ').Skip(1).ToArray();
        var (status, output, log) = RunContainer(root =>
        {
            CopyDynamicProgram(root, "/bin/ls", libs);
            Directory.CreateDirectory(Path.Combine(root, "data"));
            foreach (var n in new[] { "b", "a", "c" }) File.WriteAllText(Path.Combine(root, "data", n), n);
        }, "/bin/ls", "-1", "/data");
        Assert.Equal("a\nb\nc\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }
}
