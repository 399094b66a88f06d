using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Syscalls;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.StateFile.Oci;
using RunscNet.Tests.Gofer;
using RunscNet.Tests.Sentry.Exec;
using Xunit;
using Xunit.Abstractions;

namespace RunscNet.Tests.Sentry.Files;

/// <summary>
/// Busybox on the real ptrace platform with every file system call served by the file side:
/// the root from an in-process gofer over a copy of the busybox tree, a tmpfs /tmp, /dev and
/// /proc, and stdout/stderr as a host pipe wrapped in a <see cref="HostFileDescription"/>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class BusyboxOnGoferTests
{
    private readonly ITestOutputHelper _log;

    public BusyboxOnGoferTests(ITestOutputHelper log) => _log = log;

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(to, Path.GetRelativePath(from, file));
            var info = new FileInfo(file);
            if (info.LinkTarget != null) File.CreateSymbolicLink(dest, info.LinkTarget);
            else { File.Copy(file, dest); File.SetUnixFileMode(dest, File.GetUnixFileMode(file)); }
        }
    }

    private static unsafe (int R, int W) HostPipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, pipe2(fds, 0x80000));
        return (fds[0], fds[1]);
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern unsafe int pipe2(int* fds, int flags);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int open(string path, int flags);

    private (int Status, string Output) Run(string script)
    {
        using var gofer = new GoferHarness();
        CopyTree(SentryHarness.BusyboxRoot, gofer.Root);
        Directory.CreateDirectory(Path.Combine(gofer.Root, "tmp"));
        var kernel = new Kernel { Platform = new PtracePlatform(), Syscalls = LinuxSyscalls.Table };
        var spec = new Spec
        {
            Root = new Root { Path = gofer.Root },
            Mounts = new() { new() { Destination = "/tmp", Type = "tmpfs", Source = "tmpfs" } },
        };
        Assert.Equal(0, kernel.Vfs.MountContainer(spec, gofer.Client));
        var (r, w) = HostPipe();
        var output = new MemoryStream();
        var reader = new Thread(() =>
        {
            using var s = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(r, true), FileAccess.Read, 1);
            s.CopyTo(output);
        });
        reader.Start();
        var init = kernel.CreateInit(Credentials.Root, new Rlimits());
        var stdout = HostFileDescription.FromHostFd(w);
        init.Fds.InstallNew(HostFileDescription.FromHostFd(open("/dev/null", 0x80000)), false);
        init.Fds.Install(stdout, false);
        init.Fds.InstallNew(stdout, false);
        int err = init.StartProcess("/bin/busybox", new List<string> { "/bin/busybox", "sh", "-c", script }, new List<string> { "PATH=/bin", "HOME=/" });
        Assert.Equal(0, err);
        bool exited = kernel.InitExited.Wait(60_000);
        Assert.True(exited, "init did not exit");
        init.Fds.CloseAll();
        reader.Join();
        return (kernel.InitExitStatus, Encoding.UTF8.GetString(output.ToArray()));
    }

    [RootfsFact]
    public void ShellPipelinesFilesAndProcWork()
    {
        var (status, output) = Run(
            "echo hello; seq 1 2000 | sort -rn | head -3; echo data > /tmp/f; cat /tmp/f; " +
            "mkdir -p /work/a/b && cd /work/a/b && pwd && echo x > file && ls /work/a/b; " +
            "ln -s /work/a /lnk && cat /lnk/b/file; readlink /proc/self/cwd; " +
            "head -1 /proc/self/status; cat /dev/null; test -c /dev/zero && echo devzero; exit 42");
        _log.WriteLine(output);
        Assert.Equal(WaitStatus.Exited(42), status);
        Assert.Equal(
            "hello\n2000\n1999\n1998\ndata\n/work/a/b\nfile\nx\n/work/a/b\nName:\thead\ndevzero\n",
            output);
    }
}
