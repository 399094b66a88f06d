using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using RunscNet.Gofer.Protocol;
using RunscNet.StateFile.Checkpoint;
using RunscNet.Tests.Integration;
using RunscNet.Tests.StateFile;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Attack: a hand-made checkpoint image, well-formed and with every digest right, whose SysV IPC,
/// console and CPU-timer records carry values no checkpoint writes (out-of-range ids, sizes,
/// counts, page indexes, pids). Each restore fails with one line before any process runs, no
/// container is left, and the intact image still restores.
/// </summary>
public sealed class CheckpointForgedRecordsTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    private string TempDir()
    {
        string d = Directory.CreateTempSubdirectory("runsc-net-forge-").FullName;
        _dirs.Add(d);
        return d;
    }

    private string ProbeBundle(string name)
    {
        string bundle = SyscallProbe.Bundle(name);
        _dirs.Add(bundle);
        return bundle;
    }


    /// <summary>Restores each forged image (<paramref name="extra"/> flags added) and expects its one-line error and nothing left.</summary>
    private void RefuseEach(byte[] good, string bundle, string[] extra, params (string Name, Action<SandboxImage> Edit, string Expect)[] cases)
    {
        string work = TempDir();
        foreach (var (name, edit, expect) in cases)
        {
            string dir = Path.Combine(work, name);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "checkpoint.img"), CheckpointImageForge.WithGraph(good, edit));
            string error = _runsc.Run(["restore", "--image-path", dir, "--bundle", bundle, .. extra, "--detach", "forged"]).AssertOneLineError();
            Assert.True(error.Contains(expect, StringComparison.Ordinal), $"{name}: {error}");
            Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);
            Assert.Empty(Directory.GetFiles(_runsc.Root, "forged*"));
        }
    }

    private static byte[] U32(params uint[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i * 4), values[i]);
        return b;
    }

    private static VmaImage Attachment(SandboxImage g) => g.Processes[0].Memory!.Vmas.First(v => v.SharedMemorySegment != 0);

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ForgedSysVIpcAndTimerRecordsAreRefused()
    {
        string bundle = ProbeBundle("ckptsysv"), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        _runsc.RunTo(output, output + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, "forge-src").AssertSuccess();
        SyscallProbe.WaitForText(output, "ready");
        _runsc.Run("checkpoint", "--image-path", image, "forge-src").AssertSuccess();
        _runsc.Run("delete", "forge-src").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));
        RefuseEach(good, bundle, [],
            ("sem-id", g => g.Ipc!.Semaphores[0].Perm!.Id = 32000, "semaphore set id 32000 is invalid or given twice"),
            ("sem-negative-id", g => g.Ipc!.Semaphores[0].Perm!.Id = -7, "is invalid or given twice"),
            ("sem-twice", g => g.Ipc!.Semaphores.Add(g.Ipc.Semaphores[0]), "is invalid or given twice"),
            ("sem-count", g => { g.Ipc!.Semaphores[0].Values = new byte[4 * 40000]; g.Ipc.Semaphores[0].Pids = new byte[4 * 40000]; }, "40000 semaphores"),
            ("sem-pids-short", g => g.Ipc!.Semaphores[0].Pids = new byte[4], "pids is malformed"),
            ("sem-value", g => g.Ipc!.Semaphores[0].Values = U32(1, 99999, 3), "holds a value out of range"),
            ("sem-mode", g => g.Ipc!.Semaphores[0].Perm!.Mode = 0x10000, "has an invalid mode"),
            ("sem-undo-pid", g => g.Ipc!.Semaphores[0].Undo[0].Pid = 4000, "undo adjustments of pid 4000"),
            ("sem-undo-size", g => g.Ipc!.Semaphores[0].Undo[0].Adjustments = new byte[4 * 1000], "undo adjustments of pid"),
            ("sem-undo-range", g => g.Ipc!.Semaphores[0].Undo[0].Adjustments = U32(0, 0x7fffffff, 0), "is out of range"),
            ("msg-text", g => g.Ipc!.MessageQueues[0].Messages[0].Text = new byte[9000], "holds a malformed message"),
            ("msg-type", g => g.Ipc!.MessageQueues[0].Messages[0].Type = -3, "holds a malformed message"),
            ("msg-count", g => g.Ipc!.MessageQueues[0].Messages.AddRange(Enumerable.Range(0, 70000).Select(_ => new IpcMessageImage { Type = 1 })), "has an invalid size"),
            ("msg-qbytes", g => g.Ipc!.MessageQueues[0].MaxBytes = -1, "has an invalid size"),
            ("msg-over-limit", g => g.Ipc!.MessageQueues[0].Messages.AddRange(Enumerable.Range(0, 4).Select(_ => new IpcMessageImage { Type = 1, Text = new byte[8000] })), "more than its limit"),
            ("msg-key-twice", g => { g.Ipc!.MessageQueues.Add(new MessageQueueImage { Perm = new IpcPermImage { Id = 5, Key = g.Ipc.MessageQueues[0].Perm!.Key, Mode = 0x180 } }); }, "is given twice"),
            ("cursor", g => g.Ipc!.Cursors = new byte[7], "allocation cursors are malformed"),
            ("cursor-range", g => BinaryPrimitives.WriteInt32LittleEndian(g.Ipc!.Cursors, 1 << 30), "allocation cursors are out of range"),
            ("shm-size", g => g.Ipc!.SharedMemory[0].Size = long.MaxValue, "has an invalid size"),
            ("shm-zero-size", g => g.Ipc!.SharedMemory[0].Size = 0, "has an invalid size"),
            ("shm-pages", g => g.Ipc!.SharedMemory[0].FirstPage = long.MaxValue / 8192, "refers to pages outside the image"),
            ("shm-page-index", g => g.Ipc!.SharedMemory[0].SavedPages = U32(0xfffffff0), "is out of order or outside it"),
            ("shm-page-order", g => g.Ipc!.SharedMemory[0].SavedPages = U32(2, 0), "is out of order or outside it"),
            ("shm-pid", g => g.Ipc!.SharedMemory[0].CreatorPid = int.MaxValue, "names an invalid pid"),
            ("shm-keys", g => g.Ipc!.SharedMemory[0].OriginalKey = 0x1111, "has inconsistent keys"),
            ("vma-segment", g => Attachment(g).SharedMemorySegment = 99, "which is not in the image"),
            ("vma-negative-segment", g => Attachment(g).SharedMemorySegment = -4, "which is not in the image"),
            ("vma-offset", g => Attachment(g).Offset = 1UL << 40, "does not fit SysV shared memory segment"),
            ("vma-pages", g => Attachment(g).SavedPages = U32(0), "does not fit SysV shared memory segment"),
            ("vma-not-shared", g => Attachment(g).Flags = 2, "has invalid protections or flags"),
            ("console-without-one", g => g.Console = new ConsoleImage(), "saved with a terminal"),
            ("console-file", g => g.Files[g.Processes[0].Fds[0].File].Kind = FileKind.Console, "refers to the console, but the new sandbox has none"),
            ("itimer-virtual", g => g.Processes[0].VirtualTimerRemainingNs = -5, "invalid ITIMER_VIRTUAL or ITIMER_PROF"),
            ("cpu-used", g => g.Processes[0].CpuNanos = -1, "invalid CPU time"),
            ("cpu-timer-clock", g => g.Processes[0].PosixTimers.Add(new PosixTimerImage { Id = 3, Clock = 77, Notify = 1, RemainingNs = 5 }), "has an invalid clock 77"));
        _runsc.RunTo(Path.Combine(work, "restored"), Path.Combine(work, "restored.err"), TimeSpan.FromMinutes(1),
            "restore", "--image-path", image, "--bundle", bundle, "--detach", "forge-good").AssertSuccess();
        _runsc.Run("delete", "--force", "forge-good").AssertSuccess();
    }

    private static UnixMessageImage InFlight(SandboxImage g) => g.UnixSockets.SelectMany(u => u.Queue).First(m => m.Rights.Length > 0);

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ForgedFilesInFlightAreRefused()
    {
        string bundle = ProbeBundle("ckptscm"), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        _runsc.RunTo(output, output + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, "forge-scm").AssertSuccess();
        SyscallProbe.WaitForText(output, "ready");
        _runsc.Run("checkpoint", "--image-path", image, "forge-scm").AssertSuccess();
        _runsc.Run("delete", "forge-scm").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));
        RefuseEach(good, bundle, [],
            ("rights-length", g => InFlight(g).Rights = new byte[5], "malformed files in flight"),
            ("rights-count", g => InFlight(g).Rights = new byte[4 * 254], "malformed files in flight"),
            ("rights-index", g => InFlight(g).Rights = U32(999999), "refers to file 999999, which is not in the image"),
            ("rights-negative", g => InFlight(g).Rights = U32(0xffffffff), "refers to file -1, which is not in the image"));
        _runsc.RunTo(Path.Combine(work, "restored"), Path.Combine(work, "restored.err"), TimeSpan.FromMinutes(1),
            "restore", "--image-path", image, "--bundle", bundle, "--detach", "forge-scm2").AssertSuccess();
        _runsc.Run("delete", "--force", "forge-scm2").AssertSuccess();
    }

    private static HostSocketImage HostSocket(SandboxImage g, int state) =>
        g.Files.First(f => f.Kind == FileKind.HostSocket && f.HostSocket!.State == state).HostSocket!;

    private static byte[] Inet(byte a, byte b, byte c, byte d, int port) => [2, 0, (byte)(port >> 8), (byte)port, a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>
    /// Host socket records: a family or type socket(2) does not make, a state that does not fit
    /// the type, malformed addresses, a bad backlog, options not on the allow-list, given twice
    /// or of the wrong size, an address not of the new network namespace: one line each.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ForgedHostSocketRecordsAreRefused()
    {
        string bundle = ProbeBundle("ckptinet"), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        _runsc.RunTo(output, output + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, "forge-inet").AssertSuccess();
        SyscallProbe.WaitForText(output, "ready");
        _runsc.Run("checkpoint", "--image-path", image, "forge-inet").AssertSuccess();
        _runsc.Run("delete", "forge-inet").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));
        RefuseEach(good, bundle, [],
            ("sock-unix", g => HostSocket(g, HostSocketState.Listening).Family = 1, "has family 1, which is not a host socket family"),
            ("sock-packet", g => HostSocket(g, HostSocketState.Bound).Family = 17, "has family 17, which is not a host socket family"),
            ("sock-seqpacket", g => HostSocket(g, HostSocketState.Listening).Type = 5, "which socket(2) does not make"),
            ("sock-netlink-proto", g => { var h = HostSocket(g, HostSocketState.Bound); h.Family = 16; h.Protocol = 9; }, "which socket(2) does not make"),
            ("sock-udp-listening", g => HostSocket(g, HostSocketState.Bound).State = HostSocketState.Listening, "which does not fit"),
            ("sock-state", g => HostSocket(g, HostSocketState.Bound).State = 99, "has state 99"),
            ("sock-backlog", g => HostSocket(g, HostSocketState.Listening).Backlog = -5, "which does not fit"),
            ("sock-address-short", g => HostSocket(g, HostSocketState.Listening).Local = new byte[3], "malformed bound address"),
            ("sock-address-family", g => HostSocket(g, HostSocketState.Bound).Local[0] = 10, "malformed bound address"),
            ("sock-peer", g => HostSocket(g, HostSocketState.Connected).Peer = new byte[200], "malformed peer address"),
            ("sock-option-filter", g => HostSocket(g, HostSocketState.Listening).Options.Add(new SocketOptionImage { Level = 1, Name = 26, Value = new byte[4] }), "which is not restored"),
            ("sock-option-twice", g => { var o = HostSocket(g, HostSocketState.Listening).Options; o.Add(o[0]); }, "which is not restored"),
            ("sock-option-size", g => HostSocket(g, HostSocketState.Listening).Options[0].Value = new byte[16], "which is not restored"),
            ("sock-options-many", g => HostSocket(g, HostSocketState.Bound).Options.AddRange(Enumerable.Range(0, 65).Select(_ => new SocketOptionImage { Level = 1, Name = 2, Value = new byte[4] })), "too many socket options"),
            ("sock-foreign-address", g => HostSocket(g, HostSocketState.Bound).Local = Inet(8, 8, 8, 8, 7072), "cannot be bound to 8.8.8.8:7072 again: errno 99"),
            ("sock-no-record", g => g.Files.First(f => f.Kind == FileKind.HostSocket).HostSocket = null, "has no record"),
            ("exec-init", g => g.Processes.First(p => p.Pid == 1).Exec = true, "pid 1 is marked as started by exec"));
        _runsc.RunTo(Path.Combine(work, "restored"), Path.Combine(work, "restored.err"), TimeSpan.FromMinutes(1),
            "restore", "--image-path", image, "--bundle", bundle, "--detach", "forge-inet2").AssertSuccess();
        _runsc.Run("delete", "--force", "forge-inet2").AssertSuccess();
    }

    private static InotifyImage Inotify(SandboxImage g) => g.Files.First(f => f.Kind == FileKind.Inotify).Inotify!;

    /// <summary>inotify records: bad wds, masks, paths, a watch twice, malformed queued events, a bad next wd: one line each.</summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ForgedInotifyRecordsAreRefused()
    {
        string bundle = ProbeBundle("ckptinotifyq"), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        _runsc.RunTo(output, output + ".err", TimeSpan.FromMinutes(1), "run", "--detach", "--bundle", bundle, "forge-inotify").AssertSuccess();
        SyscallProbe.WaitForText(output, "ready");
        _runsc.Run("checkpoint", "--image-path", image, "forge-inotify").AssertSuccess();
        _runsc.Run("delete", "forge-inotify").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));
        RefuseEach(good, bundle, [],
            ("inotify-wd", g => Inotify(g).Watches[0].Wd = 0, "has an invalid watch 0"),
            ("inotify-mask", g => Inotify(g).Watches[0].Mask = 0x10000002, "has an invalid watch"),
            ("inotify-no-events", g => Inotify(g).Watches[0].Mask = 0x80000000, "has an invalid watch"),
            ("inotify-path", g => Inotify(g).Watches[0].Path = "dev/shm", "watches an invalid path"),
            ("inotify-gone", g => Inotify(g).Watches[0].Path = "/no/such/file", "file /no/such/file (watched by inotify in pid 1) no longer exists"),
            ("inotify-twice", g => { var w = Inotify(g).Watches; w.Add(new InotifyWatchImage { Wd = 9, Path = w[0].Path, Mask = 0x100 }); }, "twice"),
            ("inotify-event-short", g => Inotify(g).Events.Add(new byte[5]), "malformed queued events"),
            ("inotify-event-len", g => Inotify(g).Events.Add(U32(1, 0x100, 0, 64)), "malformed queued events"),
            ("inotify-event-mask", g => Inotify(g).Events.Add(U32(1, 0x01000000, 0, 0)), "malformed queued events"),
            ("inotify-events-many", g => Inotify(g).Events.AddRange(Enumerable.Range(0, 16400).Select(_ => U32(1, 0x100, 0, 0))), "malformed queued events"),
            ("inotify-next-wd", g => Inotify(g).NextWd = -3, "malformed queued events"),
            ("inotify-no-record", g => g.Files.First(f => f.Kind == FileKind.Inotify).Inotify = null, "has no record"));
        _runsc.RunTo(Path.Combine(work, "restored"), Path.Combine(work, "restored.err"), TimeSpan.FromMinutes(1),
            "restore", "--image-path", image, "--bundle", bundle, "--detach", "forge-inotify2").AssertSuccess();
        _runsc.Run("delete", "--force", "forge-inotify2").AssertSuccess();
    }

    private static int close(int fd) => RunscNet.Tests.Integration.TerminalIo.Close(fd);

    /// <summary>A console socket that takes every connection and keeps the master fds it gets open (a closed master hangs the console up) until disposed.</summary>
    private sealed class ConsoleSink : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly List<int> _masters = [];

        public ConsoleSink(string path)
        {
            Path = path;
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(8);
            System.Threading.Tasks.Task.Run(() =>
            {
                try
                {
                    while (true)
                    {
                        using var connection = _listener.Accept();
                        var fds = new int[4];
                        PacketSocket.Receive((int)connection.Handle, new byte[4096], fds, out int count, out _);
                        lock (_masters) _masters.AddRange(fds.Take(count));
                    }
                }
                catch (SocketException) { }
                catch (ObjectDisposedException) { }
            });
        }

        public string Path { get; }

        public void Dispose()
        {
            _listener.Dispose();
            lock (_masters) foreach (int fd in _masters) close(fd);
        }
    }

    [IntegrationFact(needsRootfs: true)]
    public void ForgedConsoleRecordsAreRefused()
    {
        string bundle = Bundles.Make("sh", "-c", "while true; do echo tick; sleep 0.2; done");
        _dirs.Add(bundle);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["terminal"] = true;
        File.WriteAllText(configPath, config.ToJsonString());
        string image = Path.Combine(TempDir(), "image");
        using var console = new ConsoleSink(Path.Combine(_runsc.Root, "forge-console.sock"));
        _runsc.Run("create", "--bundle", bundle, "--console-socket", console.Path, "forge-tty").AssertSuccess();
        _runsc.Run("start", "forge-tty").AssertSuccess();
        Thread.Sleep(500);
        _runsc.Run("checkpoint", "--image-path", image, "forge-tty").AssertSuccess();
        _runsc.Run("delete", "--force", "forge-tty").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));
        RefuseEach(good, bundle, ["--console-socket", console.Path],
            ("termios", g => g.Console!.Termios = new byte[3], "the console record is malformed"),
            ("winsize", g => g.Console!.WindowSize = new byte[4000], "the console record is malformed"),
            ("session", g => g.Console!.Session = 4242, "controlling terminal of session 4242, which is not in the image"),
            ("negative-session", g => g.Console!.Session = -1, "controlling terminal of session -1"),
            ("foreground", g => g.Console!.ForegroundProcessGroup = -9, "foreground process group -9 is invalid"),
            ("no-record", g => g.Console = null, "saved without a terminal"));
        _runsc.Run("restore", "--image-path", image, "--bundle", bundle, "--console-socket", console.Path, "--detach", "forge-tty2").AssertSuccess();
        _runsc.Run("delete", "--force", "forge-tty2").AssertSuccess();
    }
}
