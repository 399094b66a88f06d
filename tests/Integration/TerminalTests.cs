using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using RunscNet.Gofer.Protocol;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Terminals through --console-socket, as conmon and containerd's shim use them (runc's
/// docs/terminals.md): the runtime sends the pty master over the socket; the container's
/// programs see a tty named /dev/pts/N, /dev/console and /dev/tty work, and the size set by
/// process.consoleSize is the window size.
/// </summary>
public sealed class TerminalTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    private static nint read(int fd, byte[] buffer, nint count) => TerminalIo.Read(fd, buffer, count);

    private static int close(int fd) => TerminalIo.Close(fd);

    /// <summary>Everything the terminal shows until the last holder of the slave side closes it (read gives EIO).</summary>
    private static string ReadAll(int master, Action? beforeClose = null)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        var reader = System.Threading.Tasks.Task.Run(() =>
        {
            while (true)
            {
                nint n = read(master, buffer, buffer.Length);
                if (n <= 0) break;
                text.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
            }
        });
        bool closed = reader.Wait(TimeSpan.FromSeconds(60));
        beforeClose?.Invoke();
        Assert.True(closed, "the terminal was not closed: " + text);
        close(master);
        return text.ToString().Replace("\r\n", "\n");
    }

    private string TerminalBundle(params string[] args)
    {
        string bundle = Bundles.Make(args);
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["terminal"] = true;
        config["process"]!["consoleSize"] = new JsonObject { ["height"] = 31, ["width"] = 97 };
        File.WriteAllText(configPath, config.ToJsonString());
        return bundle;
    }

    [IntegrationFact(needsRootfs: true)]
    public void ContainerWithATerminalSeesATtyOnItsConsole()
    {
        string bundle = TerminalBundle("sh", "-c",
            "tty; stty size; test -c /dev/console && echo console-ok; echo via-tty > /dev/tty; ls -1 /dev/pts; exit 6");
        using var console = new ConsoleSocket(Path.Combine(_runsc.Root, "console.sock"));
        _runsc.Run("create", "--bundle", bundle, "--console-socket", console.Path, "term-run").AssertSuccess();
        var (master, name) = console.Received();
        Assert.StartsWith("/dev/pts/", name);
        _runsc.Run("start", "term-run").AssertSuccess();
        string shown = ReadAll(master);
        Assert.Equal("/dev/pts/0\n31 97\nconsole-ok\nvia-tty\n0\nptmx\n", shown);
        var state = _runsc.Run("state", "term-run").AssertSuccess();
        Assert.Contains("\"stopped\"", state.Stdout);
        _runsc.Run("delete", "term-run").AssertSuccess();
    }

    private static nint write(int fd, byte[] buffer, nint count) => TerminalIo.Write(fd, buffer, count);

    /// <summary>
    /// ^C typed on the console interrupts the container's foreground processes, also when the
    /// caller was started with SIGINT and SIGQUIT ignored (a non-interactive shell's <c>cmd &amp;</c>,
    /// nohup): boot inherits that, and must not let it swallow the container's ^C.
    /// </summary>
    [IntegrationTheory(needsRootfs: true)]
    [InlineData(false)]
    [InlineData(true)]
    public void CtrlCOnTheConsoleInterruptsTheForegroundProcesses(bool callerIgnoresInterrupts)
    {
        if (callerIgnoresInterrupts) _runsc.Wrapper = ["sh", "-c", "trap '' INT QUIT; exec \"$@\"", "sh"];
        string bundle = TerminalBundle("sh", "-c", "trap 'echo trapped; exit 5' INT; echo ready; while true; do sleep 0.1; done");
        using var console = new ConsoleSocket(Path.Combine(_runsc.Root, "intr.sock"));
        _runsc.Run("create", "--bundle", bundle, "--console-socket", console.Path, "term-intr").AssertSuccess();
        var (master, _) = console.Received();
        _runsc.Run("start", "term-intr").AssertSuccess();
        var seen = new StringBuilder();
        var buffer = new byte[1024];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!seen.ToString().Contains("ready") && DateTime.UtcNow < deadline)
        {
            nint n = read(master, buffer, buffer.Length);
            if (n <= 0) break;
            seen.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
        }
        Assert.Contains("ready", seen.ToString());
        // ^C typed on the terminal: the line discipline raises SIGINT for the foreground group.
        write(master, [3], 1);
        string rest = ReadAll(master);
        Assert.Contains("trapped", rest);
        var deadline2 = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!_runsc.Run("state", "term-intr").Stdout.Contains("\"stopped\"") && DateTime.UtcNow < deadline2) Thread.Sleep(20);
        var wait = _runsc.Run("wait", "term-intr");
        Assert.Equal(5, wait.ExitCode);
        _runsc.Run("delete", "term-intr").AssertSuccess();
    }

    /// <summary>
    /// Security: ^C, ^\ and ^Z typed as fast as possible while the container execs. The host's
    /// line discipline sends them to boot's whole host process group, which every stub is forked
    /// into; a stub still in its set-up would die of them and fail the application's execve
    /// ("the systrap stub exited during its setup"). Stubs ignore the terminal's signals from
    /// birth, so the storm reaches the application only through the Sentry's own tty.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void TerminalSignalStormDuringExecsKillsNoStub()
    {
        // The shell ignores SIGINT/SIGQUIT/SIGTSTP (its children inherit that), so every exec must succeed.
        // The verdict is the exit status, not the output: each ^C and ^\\ flushes the terminal's
        // output queue (termios(3), no NOFLSH), so text the reader has not read yet may be lost.
        string bundle = TerminalBundle("sh", "-c",
            "trap '' INT QUIT TSTP; echo ready; i=0; f=0; while [ $i -lt 150 ]; do /bin/true || f=$((f+1)); i=$((i+1)); done; [ $f -eq 0 ] && exit 4; exit 9");
        using var console = new ConsoleSocket(Path.Combine(_runsc.Root, "storm.sock"));
        _runsc.Run("create", "--bundle", bundle, "--console-socket", console.Path, "term-storm").AssertSuccess();
        var (master, _) = console.Received();
        _runsc.Run("start", "term-storm").AssertSuccess();
        using var stop = new CancellationTokenSource();
        var storm = System.Threading.Tasks.Task.Run(() =>
        {
            byte[][] keys = [[3], [0x1c], [0x1a]];
            for (int i = 0; !stop.IsCancellationRequested && i < 20000; i++)
            {
                write(master, keys[i % 3], 1);
                Thread.Sleep(1);
            }
        });
        // The storm ends before the master is closed: its fd number may be reused at once.
        ReadAll(master, beforeClose: () =>
        {
            stop.Cancel();
            Assert.True(storm.Wait(TimeSpan.FromSeconds(30)), "the storm did not stop");
        });
        // Not a check on "ready": the storm starts before it is printed, and a ^C may flush it.
        // 4: every one of the 150 execs succeeded; 9: some failed.
        Assert.Equal(4, _runsc.Run("wait", "term-storm").ExitCode);
        _runsc.Run("delete", "term-storm").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void ExecWithTtyGetsItsOwnTerminalAndStatus()
    {
        string bundle = Bundles.Make("sleep", "60");
        _dirs.Add(bundle);
        _runsc.Run("run", "--detach", "--bundle", bundle, "term-exec").AssertSuccess();
        using var console = new ConsoleSocket(Path.Combine(_runsc.Root, "exec-console.sock"));
        var exec = System.Threading.Tasks.Task.Run(() => _runsc.Run("exec", "--tty", "--console-socket", console.Path, "term-exec",
            "sh", "-c", "tty; ls -l /proc/self/fd/0 | grep -o '/dev/pts/[0-9]*'; : > /dev/tty && echo tty-ok; exit 4"));
        var (master, _) = console.Received();
        string shown = ReadAll(master);
        Assert.True(exec.Wait(TimeSpan.FromSeconds(60)), "exec did not finish");
        Assert.Equal(4, exec.Result.ExitCode);
        Assert.Equal("/dev/pts/0\n/dev/pts/0\ntty-ok\n", shown);
        _runsc.Run("delete", "--force", "term-exec").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void ExecWithTtyButNoTerminalOrSocketIsRefused()
    {
        string bundle = Bundles.Make("sleep", "60");
        _dirs.Add(bundle);
        _runsc.Run("run", "--detach", "--bundle", bundle, "term-refuse").AssertSuccess();
        var r = _runsc.Run("exec", "--tty", "term-refuse", "true");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--tty needs a terminal", r.AssertOneLineError());
        _runsc.Run("delete", "--force", "term-refuse").AssertSuccess();
    }
}
