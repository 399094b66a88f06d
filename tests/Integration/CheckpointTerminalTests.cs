using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using RunscNet.Gofer.Protocol;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// A container with a terminal (process.terminal, --console-socket) checkpointed and restored
/// with a new console socket, as podman's conmon does: the shell goes on printing on the new
/// console, reads a line typed there, keeps its terminal settings and window size, and ^C
/// reaches its foreground process group.
/// </summary>
public sealed class CheckpointTerminalTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    private static nint read(int fd, byte[] buffer, nint count) => TerminalIo.Read(fd, buffer, count);

    private static nint write(int fd, byte[] buffer, nint count) => TerminalIo.Write(fd, buffer, count);

    private static int close(int fd) => TerminalIo.Close(fd);

    /// <summary>What a terminal shows, read on a thread of its own until the slave side is gone (EIO).</summary>
    private sealed class Screen
    {
        private readonly StringBuilder _text = new();
        private readonly System.Threading.Tasks.Task _reader;

        public Screen(int master)
        {
            Master = master;
            _reader = System.Threading.Tasks.Task.Run(() =>
            {
                var buffer = new byte[4096];
                while (true)
                {
                    nint n = read(master, buffer, buffer.Length);
                    if (n <= 0) break;
                    lock (_text) _text.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
                }
            });
        }

        public int Master { get; }

        public string Text
        {
            get { lock (_text) return _text.ToString().Replace("\r\n", "\n"); }
        }

        public void WaitFor(Func<string, bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!condition(Text) && DateTime.UtcNow < deadline) Thread.Sleep(50);
            Assert.True(condition(Text), $"the terminal never showed {what}: {Text}");
        }

        public void Type(string keys)
        {
            byte[] b = Encoding.ASCII.GetBytes(keys);
            Assert.Equal(b.Length, (int)write(Master, b, b.Length));
        }

        /// <summary>Waits until the container's side closed, then closes the master.</summary>
        public void Closed()
        {
            Assert.True(_reader.Wait(TimeSpan.FromSeconds(30)), "the terminal was not closed: " + Text);
            close(Master);
        }
    }

    private static List<int> Ticks(string text) =>
        text.Split('\n').Where(l => l.StartsWith("tick ", StringComparison.Ordinal)).Select(l => int.Parse(l[5..].Trim())).ToList();

    // A non-interactive shell on the console: ticks every second, answers lines typed on the
    // terminal, exits 5 on ^C (SIGINT to the console's foreground process group).
    private const string Script = """
        trap 'echo trapped; exit 5' INT
        stty rows 40 cols 100 -echo
        i=0
        while true; do
          if read -t 1 line; then
            echo "read: $line"; stty size; stty -a | tr ' ;' '\n\n' | grep -x -- -echo
          else
            echo "tick $i"; i=$((i+1))
          fi
        done
        """;

    [IntegrationFact(needsRootfs: true)]
    public void AShellOnTheConsoleGoesOnOnTheNewConsoleAfterRestore()
    {
        string bundle = Bundles.Make("sh", "-c", Script);
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["terminal"] = true;
        config["process"]!["consoleSize"] = new JsonObject { ["height"] = 31, ["width"] = 97 };
        File.WriteAllText(configPath, config.ToJsonString());
        string work = Directory.CreateTempSubdirectory("runsc-net-ckpt-tty-").FullName;
        _dirs.Add(work);
        string image = Path.Combine(work, "image");

        using (var first = new ConsoleSocket(Path.Combine(_runsc.Root, "tty1.sock")))
        {
            _runsc.Run("create", "--bundle", bundle, "--console-socket", first.Path, "ckpt-tty").AssertSuccess();
            var screen = new Screen(first.Master());
            _runsc.Run("start", "ckpt-tty").AssertSuccess();
            screen.WaitFor(t => Ticks(t).Count >= 2, "two ticks");
            screen.Type("before\n");
            screen.WaitFor(t => t.Contains("read: before\n40 100\n-echo\n"), "the line typed before");
            _runsc.Run("checkpoint", "--image-path", image, "ckpt-tty").AssertSuccess();
            screen.Closed();   // the container ended: its console's slave side is gone
            _runsc.Run("delete", "ckpt-tty").AssertSuccess();
            int last = Ticks(screen.Text)[^1];

            using var second = new ConsoleSocket(Path.Combine(_runsc.Root, "tty2.sock"));
            _runsc.Run("restore", "--image-path", image, "--bundle", bundle, "--console-socket", second.Path, "--detach", "ckpt-tty").AssertSuccess();
            var again = new Screen(second.Master());
            again.WaitFor(t => Ticks(t).Count >= 2, "two ticks after restore");
            Assert.Equal(last + 1, Ticks(again.Text)[0]);   // counting on where it was
            // The terminal settings and the window size are the saved ones (not the bundle's 31x97);
            // with -echo the typed line is not echoed.
            again.Type("after\n");
            again.WaitFor(t => t.Contains("read: after\n40 100\n-echo\n"), "the line typed after restore");
            Assert.DoesNotContain("after\nread", again.Text);
            again.Type("\x03");
            again.WaitFor(t => t.Contains("trapped"), "the ^C trap");
            again.Closed();
        }
        Assert.Equal(5, _runsc.Run("wait", "ckpt-tty").ExitCode);
        _runsc.Run("delete", "--force", "ckpt-tty").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void AnImageWithATerminalNeedsOneAtRestoreAndViceVersa()
    {
        string bundle = Bundles.Make("sh", "-c", "while true; do echo tick; sleep 0.2; done");
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["terminal"] = true;
        string terminal = config.ToJsonString();
        config["process"]!["terminal"] = false;
        string plain = config.ToJsonString();
        File.WriteAllText(configPath, terminal);
        string work = Directory.CreateTempSubdirectory("runsc-net-ckpt-tty-").FullName;
        _dirs.Add(work);
        string image = Path.Combine(work, "image");
        using (var console = new ConsoleSocket(Path.Combine(_runsc.Root, "tty3.sock")))
        {
            _runsc.Run("create", "--bundle", bundle, "--console-socket", console.Path, "ckpt-tty2").AssertSuccess();
            var screen = new Screen(console.Master());
            _runsc.Run("start", "ckpt-tty2").AssertSuccess();
            screen.WaitFor(t => t.Contains("tick"), "a tick");
            _runsc.Run("checkpoint", "--image-path", image, "ckpt-tty2").AssertSuccess();
            screen.Closed();
            _runsc.Run("delete", "ckpt-tty2").AssertSuccess();
        }
        File.WriteAllText(configPath, plain);
        string error = _runsc.Run("restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-tty3").AssertOneLineError();
        Assert.Contains("saved with a terminal; restore it with process.terminal set in the bundle and --console-socket", error);
        Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);

        // The reverse: an image without a terminal into a bundle that asks for one.
        string plainImage = Path.Combine(work, "plain-image");
        _runsc.RunTo(Path.Combine(work, "plain.out"), Path.Combine(work, "plain.err"), TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, "ckpt-notty").AssertSuccess();
        Thread.Sleep(500);
        _runsc.Run("checkpoint", "--image-path", plainImage, "ckpt-notty").AssertSuccess();
        _runsc.Run("delete", "ckpt-notty").AssertSuccess();
        File.WriteAllText(configPath, terminal);
        using (var console = new ConsoleSocket(Path.Combine(_runsc.Root, "tty4.sock")))
        {
            error = _runsc.Run("restore", "--image-path", plainImage, "--bundle", bundle, "--console-socket", console.Path, "--detach", "ckpt-tty4").AssertOneLineError();
            Assert.Contains("saved without a terminal, but the bundle asks for one (process.terminal)", error);
        }
        Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);
    }

    private static (int Code, string Out, string Err) Sh(string script, int timeoutSeconds = 120) => HostShell.Sh(script, timeoutSeconds);

    /// <summary>podman run -t (conmon holds the console), container checkpoint, container restore: it counts on.</summary>
    [IntegrationFact(needsRootfs: true, needsTools: "podman criu")]
    public void PodmanCheckpointAndRestoreOfAContainerWithATerminal()
    {
        string store = Directory.CreateTempSubdirectory("runsc-net-ckpt-podman-").FullName;
        _dirs.Add(store);
        string podman = $"podman --root '{store}/root' --runroot '{store}/run' --runtime '{RunscNetBinary.Path}'";
        string name = "ckpt-podman-tty-" + Environment.ProcessId;
        List<int> Log() => Sh($"{podman} logs {name}").Out.Replace("\r", "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => int.TryParse(l, out _)).Select(int.Parse).ToList();
        try
        {
            var import = Sh($"tar -C '{TestRequirements.Rootfs}' -c . | {podman} import - localhost/runsc-net-ckpt:tty");
            Assert.True(import.Code == 0, import.Err);
            var run = Sh($"{podman} run -d -t --name {name} localhost/runsc-net-ckpt:tty sh -c 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done'");
            Assert.True(run.Code == 0, run.Err);
            Thread.Sleep(1500);
            var checkpoint = Sh($"{podman} container checkpoint {name}");
            Assert.True(checkpoint.Code == 0, checkpoint.Err);
            int saved = Log()[^1];
            var restore = Sh($"{podman} container restore {name}");
            Assert.True(restore.Code == 0, restore.Err);
            Thread.Sleep(1500);
            Assert.Contains("running", Sh($"{podman} inspect -f '{{{{.State.Status}}}}' {name}").Out);
            var log = Log();
            Assert.True(log[^1] > saved + 2, $"{saved} then {string.Join(' ', log)}");
            Assert.Contains(saved + 1, log);
        }
        finally
        {
            Sh($"{podman} rm -f -t 0 {name}");
            Sh($"{podman} rmi -f localhost/runsc-net-ckpt:tty");
        }
    }
}
