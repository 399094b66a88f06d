using System.Runtime.InteropServices;
using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Platform.Systrap;
using RunscNet.Sentry.Syscalls;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.Tests.Sentry.Exec;
using Xunit;
using Task = RunscNet.Sentry.Kernel.Task;
using Tmds.Linux;

namespace RunscNet.Tests.Sentry.Systrap;

/// <summary>
/// Busybox pipelines on the systrap platform (and on ptrace, for comparison) with the full system-call table: the Sentry's own
/// pipes between the processes, stdout and stderr on a host pipe the test reads.
/// </summary>
[Collection("systrap stubs")]
public class SystrapPipeTests
{
    private static readonly SystrapPlatform Systrap = new();
    private static readonly PtracePlatform Ptrace = new();

    private static unsafe int pipe2(int* fds, int flags) => LibC.pipe2(fds, flags);

    private static unsafe nint read(int fd, byte* buf, nint count) => (nint)(long)LibC.read(fd, buf, (size_t)(ulong)count);

    private static int close(int fd) => LibC.close(fd);

    private static int open(string path, int flags) => RunscNet.LinuxInterop.LibcCalls.Open(path, flags, 0);

    private static unsafe (int Status, string Output) RunWithHostStdout(string platform, string script)
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, pipe2(fds, 0x80000));
        int readEnd = fds[0], writeEnd = fds[1];
        var output = new StringBuilder();
        var reader = new Thread(() =>
        {
            var buf = new byte[4096];
            fixed (byte* p = buf)
            {
                nint n;
                while ((n = read(readEnd, p, buf.Length)) > 0) output.Append(Encoding.UTF8.GetString(buf, 0, (int)n));
            }
        });
        reader.Start();
        string root = SentryHarness.BusyboxRoot;
        var kernel = new Kernel { Platform = platform == "ptrace" ? Ptrace : Systrap, Syscalls = LinuxSyscalls.Table, OpenExecutable = HostFile.RootedAt(root), OpenInterpreter = HostFile.RootedAt(root) };
        var init = kernel.CreateInit(Credentials.Root, new Rlimits());
        Install(init, 0, open("/dev/null", 0x80000));
        Install(init, 1, writeEnd);
        Install(init, 2, Dup(writeEnd));
        // The shell finds applets on PATH; the busybox fixture (scripts/build-busybox-rootfs.sh) links most in /usr/bin.
        int err = init.StartProcess("/bin/sh", new List<string> { "/bin/sh", "-c", script }, new List<string> { "PATH=/bin:/usr/bin", "HOME=/" });
        Assert.Equal(0, err);
        Assert.True(kernel.InitExited.Wait(60_000));
        Assert.True(reader.Join(10_000));
        close(readEnd);
        return (kernel.InitExitStatus, output.ToString());
    }

    private static void Install(Task init, int fd, int hostFd)
    {
        var file = HostFileDescription.FromHostFd(hostFd);
        init.Fds.InstallAt(fd, file, false);
        file.DecRef();   // the table holds its own reference
    }

    private static int Fcntl(int fd, int cmd, int arg) => LibC.fcntl(fd, cmd, arg);

    private static int Dup(int fd) => Fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 3);

    [RootfsTheory]
    [InlineData("systrap")]
    [InlineData("ptrace")]
    public void PipelineOfThreeProcessesCarriesData(string platform)
    {
        var (status, output) = RunWithHostStdout(platform, "echo one two three | tr ' ' '\\n' | wc -l");
        Assert.Equal("3", output.Trim());
        Assert.Equal(WaitStatus.Exited(0), status);
    }

    [RootfsTheory]
    [InlineData("systrap")]
    [InlineData("ptrace")]
    public void LargePipeTransferAndExitStatusOfTheLastStage(string platform)
    {
        var (status, output) = RunWithHostStdout(platform, "seq 1 20000 | sort -rn | tail -n 2; seq 5 | grep -q 9; echo $?");
        Assert.Equal("2\n1\n1\n", output);
        Assert.Equal(WaitStatus.Exited(0), status);
    }
}
