using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Issue 11's acceptance test: a CPython program (the rootfs of scripts/build-python-rootfs.sh)
/// with two threads, a pipe holding unread bytes, a file open at an offset, a SIGALRM interval
/// timer, a forked child and a socketpair with queued data is checkpointed while it waits,
/// deleted, restored, and let go on: what it printed before plus after equals what an
/// uninterrupted run prints. The program prints "ready" and waits for SIGUSR1 (`runsc-net kill`)
/// before it consumes any of that state; the test sends it after the restore, or at once in the
/// uninterrupted run. (Host-side changes to a bind mount are not a usable gate: the Sentry caches
/// the gofer's files and directories.)
/// </summary>
public sealed class CheckpointPythonTests : IDisposable
{
    private const string Program = """
        import os, signal, socket, threading, time
        def log(*a):
            print(*a, flush=True)
        go = threading.Event()
        signal.signal(signal.SIGUSR1, lambda signum, frame: go.set())
        ticks = 0
        def on_alarm(signum, frame):
            global ticks
            ticks += 1
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
        r, w = os.pipe()
        os.write(w, b"bytes left in the pipe")
        f = open("/ctl/input.txt", "rb")
        first = f.read(5)
        gate_r, gate_w = os.pipe()
        a, b = socket.socketpair()
        a.sendall(b"queued for the child")
        pid = os.fork()
        if pid == 0:
            a.close()
            os.read(gate_r, 1)
            msg = b.recv(100)
            b.sendall(msg.upper())
            os._exit(7)
        b.close()
        got = []
        def worker():
            while not go.wait(0.05):
                pass
            got.append(os.read(r, 100))
        t = threading.Thread(target=worker)
        t.start()
        log("ready", first, threading.active_count())
        while not go.is_set():
            time.sleep(0.02)
        os.write(gate_w, b"g")
        t.join()
        log("pipe", got[0])
        log("file", f.read(5), f.tell())
        log("reply", a.recv(100))
        _, status = os.waitpid(pid, 0)
        log("child", os.WEXITSTATUS(status))
        start = ticks
        while ticks < start + 3:
            time.sleep(0.01)
        log("timer", signal.getitimer(signal.ITIMER_REAL)[1], ticks > 3)
        log("threads", threading.active_count())
        """;

    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    private string TempDir()
    {
        string d = Directory.CreateTempSubdirectory("runsc-net-ckpt-py-").FullName;
        _dirs.Add(d);
        return d;
    }

    /// <summary>A bundle running <paramref name="program"/> with python3 in the CPython rootfs, <paramref name="ctl"/> bound read-write at /ctl.</summary>
    internal static string PythonBundle(List<string> cleanup, string ctl, string program)
    {
        File.WriteAllText(Path.Combine(ctl, "prog.py"), program);
        string bundle = Bundles.Make("python3", "-I", "-B", "/ctl/prog.py");
        cleanup.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["path"] = TestRequirements.PythonRootfs;
        config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/ctl", ["type"] = "bind", ["source"] = ctl, ["options"] = new JsonArray("rbind", "rw"),
        });
        File.WriteAllText(configPath, config.ToJsonString());
        return bundle;
    }

    private string Ctl()
    {
        string ctl = TempDir();
        File.WriteAllText(Path.Combine(ctl, "input.txt"), "0123456789abcdefghij");
        return ctl;
    }

    private static void WaitFor(string file, Func<string, bool> done, string what)
    {
        // Polls until the file says it is done; fails (never passes) when 60 s go by first.
        bool reached = SpinWait.SpinUntil(() =>
        {
            if (File.Exists(file) && done(File.ReadAllText(file))) return true;
            Thread.Sleep(50);
            return false;
        }, TimeSpan.FromSeconds(60));
        if (!reached) Assert.Fail($"{what}: {file} holds {(File.Exists(file) ? File.ReadAllText(file) : "(nothing)")}; stderr: {(File.Exists(file + ".err") ? File.ReadAllText(file + ".err") : "")}");
    }

    /// <summary>
    /// Runs <paramref name="program"/> uninterrupted (SIGUSR1 once it printed "ready"), then again
    /// checkpointed once ready, deleted, restored, and sent SIGUSR1; returns (uninterrupted output,
    /// output before + after the checkpoint).
    /// </summary>
    internal static (string Expected, string Actual) RunAcrossCheckpoint(RunscNetBinary runsc, List<string> cleanup, Func<string> ctlDir,
        string program, string id)
    {
        string ctl0 = ctlDir();
        string plain = Path.Combine(ctl0, "plain.out");
        runsc.RunTo(plain, plain + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", PythonBundle(cleanup, ctl0, program), id + "-plain").AssertSuccess();
        WaitFor(plain, s => s.Contains("ready"), "the program did not get ready");
        runsc.Run("kill", id + "-plain", "USR1").AssertSuccess();
        WaitForExit(runsc, id + "-plain");
        string expected = File.ReadAllText(plain);

        string ctl = ctlDir();
        string bundle = PythonBundle(cleanup, ctl, program);
        string before = Path.Combine(ctl, "before.out"), after = Path.Combine(ctl, "after.out"), image = Path.Combine(ctl, "image");
        runsc.RunTo(before, before + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, id).AssertSuccess();
        WaitFor(before, s => s.Contains("ready"), "the program did not get ready");
        Thread.Sleep(300);   // let every thread and the child reach its wait
        runsc.Run("checkpoint", "--image-path", image, id).AssertSuccess();
        runsc.Run("delete", id).AssertSuccess();
        runsc.RunTo(after, after + ".err", TimeSpan.FromMinutes(1), "restore", "--image-path", image, "--bundle", bundle, "--detach", id).AssertSuccess();
        runsc.Run("kill", id, "USR1").AssertSuccess();
        WaitForExit(runsc, id);
        return (expected, File.ReadAllText(before) + File.ReadAllText(after));
    }

    /// <summary>Waits (at most a minute) for container <paramref name="id"/> to stop, then deletes it.</summary>
    private static void WaitForExit(RunscNetBinary runsc, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string status = "";
        while (DateTime.UtcNow < deadline)
        {
            status = JsonDocument.Parse(runsc.Run("state", id).AssertSuccess().Stdout).RootElement.GetProperty("status").GetString()!;
            if (status == "stopped") break;
            Thread.Sleep(50);
        }
        runsc.Run("delete", "--force", id).AssertSuccess();
        Assert.True(status == "stopped", $"container {id} is still {status} after a minute");
    }

    private const string HttpServerProgram = """
        import http.server, os
        os.chdir("/ctl")
        with open("/ctl/hello.txt", "w") as f:
            f.write("hello from before the checkpoint\n")
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 8000), http.server.SimpleHTTPRequestHandler)
        print("serving", flush=True)
        srv.serve_forever()
        """;

    /// <summary>
    /// A python3 http.server listening on 127.0.0.1:8000 is checkpointed, deleted and restored;
    /// its listening socket is made again, so a new connection from inside the container (exec)
    /// is answered.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsPythonRootfs: true)]
    public void AnHttpServerAnswersANewConnectionAfterRestore()
    {
        string ctl = TempDir(), bundle = PythonBundle(_dirs, ctl, HttpServerProgram);
        string before = Path.Combine(ctl, "before.out"), after = Path.Combine(ctl, "after.out"), image = Path.Combine(ctl, "image");
        const string id = "ckpt-http";
        string[] fetch = ["exec", id, "python3", "-I", "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/hello.txt', timeout=20).read().decode(), end='')"];
        _runsc.RunTo(before, before + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, id).AssertSuccess();
        try
        {
            WaitFor(before, s => s.Contains("serving"), "the server did not start");
            Assert.Equal("hello from before the checkpoint\n", _runsc.Run(fetch).AssertSuccess().Stdout);
            _runsc.Run("checkpoint", "--image-path", image, id).AssertSuccess();
            _runsc.Run("delete", id).AssertSuccess();
            _runsc.RunTo(after, after + ".err", TimeSpan.FromMinutes(1), "restore", "--image-path", image, "--bundle", bundle, "--detach", id).AssertSuccess();
            Assert.Equal("hello from before the checkpoint\n", _runsc.Run(fetch).AssertSuccess().Stdout);
        }
        finally
        {
            _runsc.Run("delete", "--force", id);
        }
    }

    [IntegrationFact(needsRootfs: true, needsPythonRootfs: true)]
    public void PythonThreadsPipeFileTimerChildAndSocketpairContinueAsIfUninterrupted()
    {
        var (expected, actual) = RunAcrossCheckpoint(_runsc, _dirs, Ctl, Program, "ckpt-py");
        Assert.Equal(
            "ready b'01234' 2\npipe b'bytes left in the pipe'\nfile b'56789' 10\nreply b'QUEUED FOR THE CHILD'\nchild 7\ntimer 0.05 True\nthreads 1\n",
            expected);
        Assert.Equal(expected, actual);
    }

    private const string SocketProgram = """
        import os, signal, socket, threading, time
        def log(*a):
            print(*a, flush=True)
        go = threading.Event()
        signal.signal(signal.SIGUSR1, lambda signum, frame: go.set())
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind("/ctl/srv.sock")
        srv.listen(4)
        pending = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        pending.connect("/ctl/srv.sock")
        pending.sendall(b"sent before accept")
        box = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        box.bind("\0ckpt-abstract")
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.sendto(b"dgram one", "\0ckpt-abstract")
        sender.sendto(b"dgram two", "\0ckpt-abstract")
        sp = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sp[0].send(b"record 1")
        sp[0].send(b"record 2")
        sp[0].shutdown(socket.SHUT_WR)
        log("ready")
        while not go.is_set():
            time.sleep(0.02)
        conn, _ = srv.accept()
        log("accepted", conn.recv(100), conn.getsockname(), conn.getpeername())
        conn.sendall(b"answer")
        log("pending got", pending.recv(100))
        late = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        late.connect("/ctl/srv.sock")
        late.sendall(b"connected after restore")
        conn2, _ = srv.accept()
        log("late", conn2.recv(100))
        log("dgram", box.recvfrom(100), box.recv(100))
        log("seqpacket", sp[1].recv(100), sp[1].recv(100), sp[1].recv(100))
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"abstract name still bound", "\0ckpt-abstract")
        log("box", box.recv(100))
        """;

    [IntegrationFact(needsRootfs: true, needsPythonRootfs: true)]
    public void ListeningPathAbstractDatagramAndSeqpacketSocketsKeepTheirState()
    {
        var (expected, actual) = RunAcrossCheckpoint(_runsc, _dirs, Ctl, SocketProgram, "ckpt-pysock");
        Assert.Equal(
            "ready\naccepted b'sent before accept' /ctl/srv.sock \npending got b'answer'\nlate b'connected after restore'\n"
            + "dgram (b'dgram one', None) b'dgram two'\nseqpacket b'record 1' b'record 2' b''\nbox b'abstract name still bound'\n",
            expected);
        Assert.Equal(expected, actual);
    }
}
