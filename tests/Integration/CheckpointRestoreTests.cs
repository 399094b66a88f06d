using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// checkpoint and restore through the published binary: a busybox counter loop saved, deleted and
/// restored continues counting; --leave-running keeps the original beside a restored copy;
/// damaged, truncated and other-version images are refused before anything starts; objects that
/// cannot be saved yet are refused at checkpoint time with the container left running.
/// </summary>
public sealed class CheckpointRestoreTests : IDisposable
{
    private const string Counter = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done";

    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    private string TempDir()
    {
        string d = Directory.CreateTempSubdirectory("runsc-net-ckpt-").FullName;
        _dirs.Add(d);
        return d;
    }

    private string Bundle(string script)
    {
        string b = Bundles.Make("sh", "-c", script);
        _dirs.Add(b);
        return b;
    }

    /// <summary>Runs <paramref name="args"/> with the container's output in <paramref name="outFile"/>.</summary>
    private CommandResult RunTo(string outFile, params string[] args) =>
        _runsc.RunTo(outFile, outFile + ".err", TimeSpan.FromMinutes(1), args);

    private static List<int> Numbers(string file) =>
        File.ReadAllText(file).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();

    private static void WaitForNumbers(string file, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(file) && Numbers(file).Count >= count) return;
            Thread.Sleep(50);
        }
        Assert.Fail($"{file} did not reach {count} lines: {(File.Exists(file) ? File.ReadAllText(file) : "(missing)")}");
    }

    private static void AssertCounting(List<int> numbers, int from)
    {
        Assert.NotEmpty(numbers);
        Assert.Equal(from, numbers[0]);
        for (int i = 1; i < numbers.Count; i++) Assert.Equal(numbers[i - 1] + 1, numbers[i]);
    }

    private string Status(string id) =>
        JsonDocument.Parse(_runsc.Run("state", id).AssertSuccess().Stdout).RootElement.GetProperty("status").GetString()!;

    private void Kill(string id)
    {
        _runsc.Run("kill", id, "KILL");
        _runsc.Run("delete", "--force", id).AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void CounterContinuesWhereItWasAfterCheckpointDeleteRestore()
    {
        string bundle = Bundle(Counter), work = TempDir(), image = Path.Combine(work, "image");
        string before = Path.Combine(work, "before.out"), after = Path.Combine(work, "after.out"), pidFile = Path.Combine(work, "pid");
        RunTo(before, "run", "--detach", "--bundle", bundle, "ckpt-count").AssertSuccess();
        WaitForNumbers(before, 4);

        _runsc.Run("checkpoint", "--image-path", image, "--work-path", work, "ckpt-count").AssertSuccess();
        Assert.True(File.Exists(Path.Combine(image, "checkpoint.img")));
        Assert.True(File.Exists(Path.Combine(image, "inventory.img")));
        Assert.Empty(Directory.GetFiles(image, "*.tmp"));
        Assert.Equal("stopped", Status("ckpt-count"));
        var saved = Numbers(before);
        Thread.Sleep(500);
        Assert.Equal(saved, Numbers(before));   // it really ended
        _runsc.Run("delete", "ckpt-count").AssertSuccess();

        // Same ID again, as podman restores.
        RunTo(after, "restore", "--image-path", image, "--work-path", work, "--bundle", bundle, "--detach", "--pid-file", pidFile,
            "--tcp-established", "--file-locks", "ckpt-count").AssertSuccess();
        Assert.Equal("running", Status("ckpt-count"));
        int pid = JsonDocument.Parse(_runsc.Run("state", "ckpt-count").Stdout).RootElement.GetProperty("pid").GetInt32();
        Assert.Equal(pid.ToString(), File.ReadAllText(pidFile));
        WaitForNumbers(after, 4);
        AssertCounting(Numbers(after), saved[^1] + 1);
        AssertCounting(saved, 0);
        Kill("ckpt-count");
    }

    [IntegrationFact(needsRootfs: true)]
    public void LeaveRunningKeepsTheOriginalAndACopyRunsBesideIt()
    {
        string bundle = Bundle(Counter), work = TempDir(), image = Path.Combine(work, "image");
        string original = Path.Combine(work, "original.out"), copy = Path.Combine(work, "copy.out");
        RunTo(original, "run", "--detach", "--bundle", bundle, "ckpt-orig").AssertSuccess();
        WaitForNumbers(original, 3);
        // podman -R passes --leave-running twice.
        _runsc.Run("checkpoint", "--image-path", image, "--leave-running", "--leave-running", "ckpt-orig").AssertSuccess();
        Assert.Equal("running", Status("ckpt-orig"));
        int savedCount = Numbers(original).Count;

        RunTo(copy, "restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-copy").AssertSuccess();
        WaitForNumbers(copy, 3);
        WaitForNumbers(original, savedCount + 3);   // the original counts on
        Assert.Equal("running", Status("ckpt-orig"));
        Assert.Equal("running", Status("ckpt-copy"));
        var c = Numbers(copy);
        AssertCounting(c, c[0]);
        Assert.Contains(c[0] - 1, Numbers(original));   // the copy continues from the saved value
        AssertCounting(Numbers(original), 0);
        Kill("ckpt-copy");
        Kill("ckpt-orig");
    }

    [IntegrationFact(needsRootfs: true)]
    public void APausedContainerCanBeCheckpointedAndStaysPaused()
    {
        string bundle = Bundle(Counter), work = TempDir(), image = Path.Combine(work, "image"), output = Path.Combine(work, "out");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-paused").AssertSuccess();
        WaitForNumbers(output, 2);
        _runsc.Run("pause", "ckpt-paused").AssertSuccess();
        _runsc.Run("checkpoint", "--image-path", image, "--leave-running", "ckpt-paused").AssertSuccess();
        Assert.Equal("paused", Status("ckpt-paused"));
        _runsc.Run("resume", "ckpt-paused").AssertSuccess();
        Kill("ckpt-paused");
    }

    [IntegrationFact(needsRootfs: true)]
    public void AZombieNobodyWaitedForIsRestoredAsAZombie()
    {
        // init execs a sleep that never waits: the background sleep stays a zombie.
        string bundle = Bundle("sleep 0.1 & exec sleep 1000"), work = TempDir(), image = Path.Combine(work, "image");
        RunTo(Path.Combine(work, "out"), "run", "--detach", "--bundle", bundle, "ckpt-zombie").AssertSuccess();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        static bool HasZombie(string table) => table.Split('\n').Any(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^0 +2 +1 +Z +sleep$"));
        while (!HasZombie(_runsc.Run("ps", "ckpt-zombie").Stdout) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.True(HasZombie(_runsc.Run("ps", "ckpt-zombie").Stdout));
        _runsc.Run("checkpoint", "--image-path", image, "ckpt-zombie").AssertSuccess();
        _runsc.Run("delete", "ckpt-zombie").AssertSuccess();
        RunTo(Path.Combine(work, "out2"), "restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-zombie2").AssertSuccess();
        string table = _runsc.Run("ps", "ckpt-zombie2").AssertSuccess().Stdout;
        Assert.True(HasZombie(table), table);
        Assert.Matches(@"\n0 +1 +0 +S +sleep 1000\n", table);
        Kill("ckpt-zombie2");
    }

    [IntegrationFact(needsRootfs: true)]
    public void DamagedTruncatedAndOtherVersionImagesAreRefusedBeforeAnythingStarts()
    {
        string bundle = Bundle(Counter), work = TempDir(), image = Path.Combine(work, "image"), output = Path.Combine(work, "out");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-src").AssertSuccess();
        WaitForNumbers(output, 2);
        _runsc.Run("checkpoint", "--image-path", image, "ckpt-src").AssertSuccess();
        _runsc.Run("delete", "ckpt-src").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));

        var flipped = (byte[])good.Clone();
        flipped[flipped.Length / 2] ^= 0x01;
        // A byte of the first saved page (the header is padded to 4096 bytes, pages follow): its
        // chunk is checked while the new sandbox is made, which is then deleted.
        var flippedPage = (byte[])good.Clone();
        flippedPage[4096 + 123] ^= 0x80;
        var otherVersion = (byte[])good.Clone();
        int at = Encoding.ASCII.GetString(otherVersion).IndexOf($"\"formatVersion\":{RunscNet.StateFile.Checkpoint.CheckpointImage.FormatVersion}", StringComparison.Ordinal);
        otherVersion[at + 16] = (byte)'7';
        RunscNet.Tests.StateFile.CheckpointImageForge.Reseal(otherVersion);
        // A well-formed image from a CPU with a feature this one lacks.
        byte[] otherCpu = RunscNet.Tests.StateFile.CheckpointImageForge.WithHeader(good,
            json => json.Replace("\"cpuFeatures\":\"", "\"cpuFeatures\":\"zzz_no_such_feature "));
        var cases = new (string Name, byte[] Bytes, string Expect)[]
        {
            ("other-cpu", otherCpu, "features this one lacks: zzz_no_such_feature"),
            ("flipped", flipped, "SHA-256 does not match"),
            ("flipped-page", flippedPage, "page chunk 0's SHA-256 does not match"),
            ("truncated", good[..(good.Length - 100)], "damaged"),
            ("other-version", otherVersion, "format version 7"),
            ("foreign", Encoding.ASCII.GetBytes(new string('x', 200)), "not a runsc-net checkpoint image"),
        };
        foreach (var (name, bytes, expect) in cases)
        {
            string dir = Path.Combine(work, name);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "checkpoint.img"), bytes);
            string error = _runsc.Run("restore", "--image-path", dir, "--bundle", bundle, "--detach", "ckpt-bad").AssertOneLineError();
            Assert.Contains(expect, error);
            // Refused before any process started: no container, no state.
            Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);
            Assert.Empty(Directory.GetFiles(_runsc.Root, "ckpt-bad*"));
        }
        // The intact image still restores.
        RunTo(Path.Combine(work, "restored.out"), "restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-good").AssertSuccess();
        Kill("ckpt-good");
    }

    [IntegrationFact(needsRootfs: true)]
    public void AnImageSignedWithImageKeyRestoresOnlyWithThatKey()
    {
        string bundle = Bundle(Counter), work = TempDir(), image = Path.Combine(work, "image"), output = Path.Combine(work, "out");
        string key = Path.Combine(work, "key"), wrong = Path.Combine(work, "wrong");
        File.WriteAllText(key, "a secret only the operator has\n");
        File.WriteAllText(wrong, "a guess\n");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-key").AssertSuccess();
        WaitForNumbers(output, 2);
        Assert.Contains("does not exist", _runsc.Run("checkpoint", "--image-path", image, "--image-key", Path.Combine(work, "none"), "ckpt-key").AssertOneLineError());
        Assert.Equal("running", Status("ckpt-key"));
        _runsc.Run("checkpoint", "--image-path", image, "--image-key", key, "ckpt-key").AssertSuccess();
        _runsc.Run("delete", "ckpt-key").AssertSuccess();
        var cases = new (string[] Flags, string Expect)[]
        {
            ([], "restore it with --image-key"),
            (["--image-key", wrong], "does not match --image-key"),
            (["--image-key", Path.Combine(work, "none")], "does not exist"),
        };
        foreach (var (flags, expect) in cases)
        {
            string error = _runsc.Run(["restore", "--image-path", image, .. flags, "--bundle", bundle, "--detach", "ckpt-key2"]).AssertOneLineError();
            Assert.Contains(expect, error);
            Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);
            Assert.Empty(Directory.GetFiles(_runsc.Root, "ckpt-key2*"));
        }
        string restored = Path.Combine(work, "restored.out");
        RunTo(restored, "restore", "--image-path", image, "--image-key", key, "--bundle", bundle, "--detach", "ckpt-key2").AssertSuccess();
        WaitForNumbers(restored, 2);
        Kill("ckpt-key2");
    }

    [IntegrationFact(needsRootfs: true)]
    public void WhatCannotBeSavedIsRefusedByNameAndTheContainerRunsOn()
    {
        // fd 3 is a FIFO opened read-write, which is not saved yet.
        string bundle = Bundle("mkfifo /dev/shm/f; exec 3<>/dev/shm/f; " + Counter), work = TempDir(), image = Path.Combine(work, "image");
        string output = Path.Combine(work, "out");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-refuse").AssertSuccess();
        WaitForNumbers(output, 2);
        string error = _runsc.Run("checkpoint", "--image-path", image, "ckpt-refuse").AssertOneLineError();
        Assert.Contains("checkpoint: pid 1 fd 3 (a FIFO opened read-write) cannot be saved yet", error);
        Assert.False(File.Exists(Path.Combine(image, "checkpoint.img")));
        Assert.Empty(Directory.Exists(image) ? Directory.GetFiles(image) : []);
        Assert.Equal("running", Status("ckpt-refuse"));
        int count = Numbers(output).Count;
        WaitForNumbers(output, count + 2);   // still counting
        Kill("ckpt-refuse");
    }

    /// <summary>The probe's lines by kind (m, t1, t2): their fields after the kind.</summary>
    private static Dictionary<string, List<string[]>> ProbeLines(string file)
    {
        var byKind = new Dictionary<string, List<string[]>>();
        foreach (string line in File.ReadAllText(file).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ');
            if (!byKind.TryGetValue(f[0], out var list)) byKind[f[0]] = list = [];
            list.Add(f[1..]);
        }
        return byKind;
    }

    /// <summary>A bundle running probe <paramref name="name"/> (compiled from Probes/NAME.c), the probe directory bound at /probe.</summary>
    private string ProbeBundle(string name, params string[] args)
    {
        string bundle = SyscallProbe.Bundle(name, args);
        _dirs.Add(bundle);
        return bundle;
    }

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void AnInotifyFdIsRefusedByProcessAndFd()
    {
        string bundle = ProbeBundle("ckptinotify"), work = TempDir(), output = Path.Combine(work, "out");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-inotify").AssertSuccess();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.ReadAllText(output).Contains("ready") && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.Equal("ready 3\n", File.ReadAllText(output));
        string error = _runsc.Run("checkpoint", "--image-path", Path.Combine(work, "image"), "ckpt-inotify").AssertOneLineError();
        Assert.Contains("checkpoint: pid 1 fd 3 (inotify) watches /proc/", error);
        Assert.Contains("cannot be saved yet", error);
        Assert.Equal("running", Status("ckpt-inotify"));
        Kill("ckpt-inotify");
    }

    /// <summary>
    /// Objects not saved yet are refused at checkpoint time with one line naming the object (and
    /// the process where it has one), no image is left and the container runs on.
    /// </summary>
    [IntegrationTheory(needsRootfs: true, needsTools: "gcc")]
    [InlineData("pty", "checkpoint: pid 1 fd 3 (terminal ", "that is not the container's console)")]
    public void ObjectsNotSavedYetAreRefusedByName(string what, string start, string names)
    {
        string bundle = ProbeBundle("ckptrefuse", what), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        string id = "ckpt-refuse-" + what;
        RunTo(output, "run", "--detach", "--bundle", bundle, id).AssertSuccess();
        SyscallProbe.WaitForText(output, "ready");
        string error = _runsc.Run("checkpoint", "--image-path", image, id).AssertOneLineError();
        Assert.Contains(start, error);
        Assert.Contains(names, error);
        Assert.Contains("cannot be saved yet", error);
        Assert.False(File.Exists(Path.Combine(image, "checkpoint.img")));
        Assert.Equal("running", Status(id));
        Kill(id);
    }

    /// <summary>
    /// A daemon started by `exec --detach` is saved like any process: after restore it goes on
    /// (counting in /dev/shm), its stdio, which were the exec caller's, now /dev/null (writing to
    /// them does not fail), and it is no one's child: it is released when it exits.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void AProcessStartedByExecGoesOnAfterRestore()
    {
        string bundle = Bundle(Counter), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-exec").AssertSuccess();
        WaitForNumbers(output, 2);
        _runsc.Run("exec", "--detach", "ckpt-exec", "sh", "-c",
            "i=0; while true; do i=$((i+1)); echo $i > /dev/shm/n.tmp; mv /dev/shm/n.tmp /dev/shm/n; echo tick $i; echo tock $i >&2; echo $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/2) > /dev/shm/fds; sleep 0.1; done").AssertSuccess();
        int Count() => int.TryParse(_runsc.Run("exec", "ckpt-exec", "cat", "/dev/shm/n").Stdout.Trim(), out int n) ? n : -1;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Count() < 2 && DateTime.UtcNow < deadline) Thread.Sleep(100);
        _runsc.Run("checkpoint", "--image-path", image, "ckpt-exec").AssertSuccess();
        _runsc.Run("delete", "ckpt-exec").AssertSuccess();
        RunTo(Path.Combine(work, "after"), "restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-exec").AssertSuccess();
        int first = Count();
        Assert.True(first >= 2, $"the exec'd daemon's count is {first} after restore");
        deadline = DateTime.UtcNow.AddSeconds(20);
        while (Count() < first + 3 && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.True(Count() >= first + 3, "the exec'd daemon did not go on counting after restore");
        Assert.Contains("sh -c i=0", _runsc.Run("ps", "ckpt-exec").AssertSuccess().Stdout);
        Assert.Equal("/dev/null /dev/null\n", _runsc.Run("exec", "ckpt-exec", "cat", "/dev/shm/fds").AssertSuccess().Stdout);
        Kill("ckpt-exec");
    }

    /// <summary>
    /// Runs probe <paramref name="name"/> uninterrupted (SIGUSR1 once it printed "ready"), then
    /// again checkpointed once ready, deleted, restored and sent SIGUSR1; returns (uninterrupted
    /// output, output before + after the checkpoint).
    /// </summary>
    private (string Expected, string Actual) ProbeAcrossCheckpoint(string name, string id) => AcrossCheckpoint(() => ProbeBundle(name), id);

    /// <summary>As <see cref="ProbeAcrossCheckpoint"/>, for the program of the bundles <paramref name="makeBundle"/> makes.</summary>
    private (string Expected, string Actual) AcrossCheckpoint(Func<string> makeBundle, string id)
    {
        string work = TempDir(), plain = Path.Combine(work, "plain"), before = Path.Combine(work, "before"), after = Path.Combine(work, "after");
        string image = Path.Combine(work, "image");
        RunTo(plain, "run", "--detach", "--bundle", makeBundle(), id + "-plain").AssertSuccess();
        SyscallProbe.WaitForText(plain, "ready");
        _runsc.Run("kill", id + "-plain", "USR1").AssertSuccess();
        WaitForStopped(id + "-plain");
        string bundle = makeBundle();
        RunTo(before, "run", "--detach", "--bundle", bundle, id).AssertSuccess();
        SyscallProbe.WaitForText(before, "ready");
        _runsc.Run("checkpoint", "--image-path", image, id).AssertSuccess();
        _runsc.Run("delete", id).AssertSuccess();
        RunTo(after, "restore", "--image-path", image, "--bundle", bundle, "--detach", id).AssertSuccess();
        _runsc.Run("kill", id, "USR1").AssertSuccess();
        WaitForStopped(id);
        return (File.ReadAllText(plain), File.ReadAllText(before) + File.ReadAllText(after));
    }


    private void WaitForStopped(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Status(id) != "stopped" && DateTime.UtcNow < deadline) Thread.Sleep(50);
        string status = Status(id);
        _runsc.Run("delete", "--force", id).AssertSuccess();
        Assert.Equal("stopped", status);
    }

    private const string TmpfsScript = """
        go=; trap 'go=1' USR1
        cd /dev/shm && mkdir -p d/e && echo first > x && printf 'second line\n' > d/e/y && ln -s x l && ln x hard
        mkfifo fifo && chmod 0640 x && chmod 1777 d && head -c 10000 /proc/self/exe | md5sum > sum
        exec 3< d/e/y
        echo ready
        while [ -z "$go" ]; do sleep 0.1; done
        cat x d/e/y; readlink l; cat hard sum; ls -l x | cut -c1-10; ls -ld d | cut -c1-10; ls -l fifo | cut -c1
        stat -c '%h %s' x; read -r line <&3; echo "fd 3: $line"
        """;

    [IntegrationFact(needsRootfs: true)]
    public void TmpfsFilesAndAFileOpenOnTmpfsComeBack()
    {
        var (expected, actual) = AcrossCheckpoint(() => Bundle(TmpfsScript), "ckpt-tmpfs");
        Assert.StartsWith("ready\nfirst\nsecond line\nx\nfirst\n", expected);
        Assert.EndsWith("-rw-r-----\ndrwxrwxrwt\np\n2 6\nfd 3: second line\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// flock (exclusive and shared), POSIX record locks of two processes and an OFD lock are held
    /// again after restore (another process still finds them), and a process that was blocked in
    /// flock at checkpoint time gets the lock once its holder drops it.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void FlocksRecordLocksAndOfdLocksAreHeldAgainAfterRestore()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptlocks", "ckpt-locks");
        Assert.Equal("ready\nflock ex: held\nshared sh: got\nshared ex: held\nposix [5,25) write 10 10 parent\n"
            + "posix [25,50) read 30 10 parent\nposix [150,160) write 100 100 holder\nposix [20,30) unlocked 20 10 -\n"
            + "ofd [0,EOF) write 0 5 ofd\nposix set [15,16): held\nparent posix [0,EOF) write 100 100 holder\n"
            + "parent ofd [0,EOF) write 0 5 ofd\nwaiter got the flock\nwaiter exited 0\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// Host sockets (issue 11): a TCP listener (watched by epoll) and a bound UDP socket listen
    /// and receive again after restore, with their options; a connected UDP socket sends to its
    /// peer again; a connected TCP pair comes back reset, and what poll, read, write, send,
    /// SO_ERROR, getpeername and shutdown give then is what Linux gives after a peer's RST
    /// (the uninterrupted run resets the pair itself with SO_LINGER 0 + close).
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void HostSocketsListenAgainAndAConnectionComesBackResetAsLinuxGives()
    {
        var (expected, actual) = AcrossCheckpoint(() => ProbeBundle("ckptinet", "rst"), "ckpt-inet");
        Assert.StartsWith("ready v6 ", expected);
        Assert.Contains("poll 1 -\nrevents 0x201d\nread -1 ECONNRESET\nread 0 -\nrevents 0x2015\nwrite -1 EPIPE\nsend -1 EPIPE\n"
            + "so_error 0\ngetpeername -1 ENOTCONN\nshutdown -1 ENOTCONN\noptions reuseaddr 1 nodelay 1 acceptconn 1 ", expected);
        Assert.EndsWith("connect 0 -\nepoll 1 data 71\nwrite ping 4 -\nread 4 -\ngot ping\nudp send 5 -\nepoll 1 data 72\n"
            + "udp recv 5 -\ngot dgram\nudp peer port 7072\ndone\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// inotify: a watch on a tmpfs directory with an event queued and unread, and a one-shot
    /// watch on a bind-mounted file, are watching again after restore; the unread event is
    /// still there, later events arrive, a new watch gets the wd an uninterrupted run gets.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void InotifyWatchesAndQueuedEventsComeBack()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptinotifyq", "ckpt-inotifyq");
        Assert.StartsWith("ready 1 2\nnew wd 3 flags 0x800\nevent wd 1 mask 0x100 name before\n", expected);
        foreach (string line in new[] { "event wd 1 mask 0x100 name after\n", "event wd 1 mask 0x200 name before\n", "event wd 2 mask 0x8000 name -\n" })
            Assert.Contains(line, expected);
        Assert.EndsWith("again -1\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>memfds come back with their name, bytes, size, offset, mode, seals and close-on-exec flag, and the seals still hold.</summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void MemfdsKeepTheirBytesOffsetAndSeals()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptmemfd", "ckpt-memfd");
        Assert.Equal("ready\nsealed: size 10000 mode 777 read 10 \"ijklmnopqr\" offset 5010 seals 0x7 cloexec 1\n"
            + "sealed: grow refused, shrink refused, add seal refused, overwrite allowed\n"
            + "plain: /memfd:plain (deleted) size 4106 zeros 1 line tail line\nplain: seals 0x1\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// Hand-made images with valid digests but hostile memfd and lock records: each restore fails
    /// with one line, no container is left, and the intact image still restores.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ForgedMemfdAndLockRecordsAreRefused()
    {
        string bundle = ProbeBundle("ckptmemfd"), work = TempDir(), output = Path.Combine(work, "out"), image = Path.Combine(work, "image");
        RunTo(output, "run", "--detach", "--bundle", bundle, "ckpt-forge").AssertSuccess();
        SyscallProbe.WaitForText(output, "ready");
        _runsc.Run("checkpoint", "--image-path", image, "ckpt-forge").AssertSuccess();
        _runsc.Run("delete", "ckpt-forge").AssertSuccess();
        byte[] good = File.ReadAllBytes(Path.Combine(image, "checkpoint.img"));
        static RunscNet.StateFile.Checkpoint.FileImage Memfd(RunscNet.StateFile.Checkpoint.SandboxImage g) =>
            g.Files.First(f => f.Kind == RunscNet.StateFile.Checkpoint.FileKind.Memfd);
        var cases = new (string Name, Action<RunscNet.StateFile.Checkpoint.SandboxImage> Edit, string Expect)[]
        {
            ("memfd-pages", g => Memfd(g).FirstPage = long.MaxValue / 8192, "refers to pages outside the image"),
            ("memfd-size", g => Memfd(g).Size = long.MaxValue - 100, "refers to pages outside the image"),
            ("memfd-name", g => Memfd(g).MemfdName = "../etc/passwd", "is malformed"),
            ("memfd-seals", g => Memfd(g).Seals = 0x1000, "is malformed"),
            ("lock-on-stdio", g => g.Processes[0].RecordLocks.Add(new RunscNet.StateFile.Checkpoint.RecordLockImage { File = g.Processes[0].Fds[0].File, Type = 1, Start = 0, End = 10 }),
                "which is not a file the process has open"),
        };
        foreach (var (name, edit, expect) in cases)
        {
            string dir = Path.Combine(work, name);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "checkpoint.img"), RunscNet.Tests.StateFile.CheckpointImageForge.WithGraph(good, edit));
            string error = _runsc.Run("restore", "--image-path", dir, "--bundle", bundle, "--detach", "ckpt-forged").AssertOneLineError();
            Assert.True(error.Contains(expect, StringComparison.Ordinal), $"{name}: {error}");
            Assert.Equal("", _runsc.Run("list", "-q").AssertSuccess().Stdout);
            Assert.Empty(Directory.GetFiles(_runsc.Root, "ckpt-forged*"));
        }
        RunTo(Path.Combine(work, "restored.out"), "restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-forge").AssertSuccess();
        Kill("ckpt-forge");
    }

    /// <summary>
    /// SysV IPC: a semaphore set's values and both processes' SEM_UNDO adjustments, a queue's
    /// messages, a segment's pages and attachments (the parent's and the copy fork made), a
    /// segment removed while attached, ids, keys, modes and times come back as they were.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void SysVIpcObjectsKeepTheirIdsValuesMessagesAndPages()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptsysv", "ckpt-sysv");
        Assert.Equal("ready\nids: sem 1 msg 0 shm 0 gone 1\nsem values 1 3 5, by key 1\nsem mode 640 nsems 3 ctime kept 1 otime set 1\n"
            + "semop -4 on 3: -1\nchild exited 0; its undo applied: sem 2 = 9\nmsg qnum 2 cbytes 13 mode 620\nmsgrcv -5: 7 3 three!\n"
            + "msgrcv 0: 6 7 seven\nmsgrcv empty: -1\n"
            + "shm \"hello shm\" \"third page\" child wrote C, size 12388 nattch 1 ctime kept 1 mode 600\nshm by key 1\n"
            + "gone \"removed but attached\" stat 0 dest 1 key 0\ngone after detach: -1\nnext semaphore id 2\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// ITIMER_VIRTUAL, ITIMER_PROF (with its interval) and a POSIX timer on the process CPU clock,
    /// armed before the checkpoint, fire after restore at the CPU time they were armed for, as
    /// in an uninterrupted run: the remaining CPU time and the CPU time used were both kept.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void CpuTimeTimersFireAsInAnUninterruptedRun()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptcputimers", "ckpt-cputimers");
        Assert.Equal("ready\nITIMER_VIRTUAL: on time\nCPU-clock POSIX timer: on time\nITIMER_PROF: on time\norder: 0 1 2\n"
            + "ITIMER_PROF interval fired again: yes\n", expected);
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// Files in flight on a unix socket (SCM_RIGHTS sent, not yet received) come back as the
    /// descriptions they were: a pipe's read end with its bytes, a file at its offset, a socket
    /// with its queued message and its peer, and stdout.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void FilesInFlightOnAUnixSocketAreReceivedAfterRestore()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptscm", "ckpt-scm");
        Assert.Equal("ready\nmessage \"three files\" with 3 files\npipe: \"bytes in the pipe\"\npipe at EOF: 0\nfile offset 1234\n"
            + "inner socket read \"queued inside\"\nits peer read \"answer\"\nmessage \"stdout\" with 1 files\n"
            + "written through the passed stdout\n", expected);
        Assert.Equal(expected, actual);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void EventFdTimerFdSignalFdEpollAndPosixTimersKeepTheirState()
    {
        var (expected, actual) = ProbeAcrossCheckpoint("ckptevents", "ckpt-events");
        Assert.Equal("ready 3\nepoll 2 3332\neventfd 7\nsemaphore 3\ntimerfd fired 1 interval 50000000\nsignalfd 128 1\n"
            + "posix timer ticking, interval 20000000, ids 0 1\nidle timer 0 0\n", expected);
        Assert.Equal(expected, actual);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ThreadsPipeDataFileOffsetsAndTheVdsoSurviveRestore()
    {
        string bundle = ProbeBundle("ckptstate");
        string work = TempDir(), image = Path.Combine(work, "image"), before = Path.Combine(work, "before"), after = Path.Combine(work, "after");
        RunTo(before, "run", "--detach", "--bundle", bundle, "ckpt-threads").AssertSuccess();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(File.Exists(before) && ProbeLines(before).TryGetValue("m", out var m) && m.Count >= 4) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        _runsc.Run("checkpoint", "--image-path", image, "ckpt-threads").AssertSuccess();
        _runsc.Run("delete", "ckpt-threads").AssertSuccess();
        var saved = ProbeLines(before);
        Assert.True(saved["m"].Count >= 4, File.ReadAllText(before));

        RunTo(after, "restore", "--image-path", image, "--bundle", bundle, "--detach", "ckpt-threads2").AssertSuccess();
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(ProbeLines(after) is var a && a.ContainsKey("m") && a.ContainsKey("t1") && a.ContainsKey("t2") && a["m"].Count >= 3)
            && DateTime.UtcNow < deadline) Thread.Sleep(50);
        var restored = ProbeLines(after);
        // Every thread goes on with its own count.
        foreach (string kind in new[] { "m", "t1", "t2" })
            Assert.Equal(long.Parse(saved[kind][^1][0]) + 1, long.Parse(restored[kind][0][0]));
        // The file offset and the pipe's unread bytes went on from where they were.
        Assert.Equal(long.Parse(saved["m"][^1][1]) + 1, long.Parse(restored["m"][0][1]));
        string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        Assert.Equal(letters[letters.IndexOf(saved["m"][^1][2][0]) + 1], restored["m"][0][2][0]);
        Assert.Equal("running", Status("ckpt-threads2"));
        Kill("ckpt-threads2");
    }

    private static (int Code, string Out, string Err) Sh(string script, int timeoutSeconds = 120) => HostShell.Sh(script, timeoutSeconds);

    [IntegrationFact(needsRootfs: true, needsTools: "podman criu")]
    public void PodmanCheckpointRestoreAndExportImportIntoANewName()
    {
        // podman storage of its own, so the test touches no one else's containers or images.
        string store = TempDir();
        string podman = $"podman --root '{store}/root' --runroot '{store}/run' --runtime '{RunscNetBinary.Path}'";
        string name = "ckpt-podman-" + Environment.ProcessId, copy = name + "-copy";
        try
        {
            var import = Sh($"tar -C '{TestRequirements.Rootfs}' -c . | {podman} import - localhost/runsc-net-ckpt:busybox");
            Assert.True(import.Code == 0, import.Err);
            var run = Sh($"{podman} run -d --name {name} localhost/runsc-net-ckpt:busybox sh -c '{Counter}'");
            Assert.True(run.Code == 0, run.Err);
            Thread.Sleep(1000);
            var checkpoint = Sh($"{podman} container checkpoint {name}");
            Assert.True(checkpoint.Code == 0, checkpoint.Err);
            int saved = Sh($"{podman} logs {name}").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Last();
            var restore = Sh($"{podman} container restore {name}");
            Assert.True(restore.Code == 0, restore.Err);
            Thread.Sleep(1000);
            Assert.Contains("running", Sh($"{podman} inspect -f '{{{{.State.Status}}}}' {name}").Out);
            var log = Sh($"{podman} logs {name}").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            AssertCounting(log, 0);   // the restored process appends to the same log, counting on
            Assert.True(log[^1] > saved, $"{saved} then {string.Join(' ', log)}");

            // Export while it runs on (-R), import under a new name beside it.
            string archive = Path.Combine(store, "export.tar.gz");
            var export = Sh($"{podman} container checkpoint -R --export '{archive}' {name}");
            Assert.True(export.Code == 0, export.Err);
            Assert.DoesNotContain("level=error", export.Err);
            var imported = Sh($"{podman} container restore --import '{archive}' --name {copy}");
            Assert.True(imported.Code == 0, imported.Err);
            Thread.Sleep(1000);
            Assert.Contains("running", Sh($"{podman} inspect -f '{{{{.State.Status}}}}' {name}").Out);
            Assert.Contains("running", Sh($"{podman} inspect -f '{{{{.State.Status}}}}' {copy}").Out);
        }
        finally
        {
            Sh($"{podman} rm -f -t 0 {name} {copy}");
            Sh($"{podman} rmi -f localhost/runsc-net-ckpt:busybox");
        }
    }

    // The runc v2 shim drives us: pause, checkpoint --leave-running --file-locks, resume; then a
    // restore at task start with -no-subreaper --detach --pid-file. (ctr gives the restored task no
    // stdio, so its output cannot be compared here; the task running with its processes is.)
    [IntegrationFact(needsRootfs: true, needsTools: "ctr podman", needsContainerd: true)]
    public void CtrCheckpointAndRestoreTheTask()
    {
        string dir = TempDir(), store = TempDir();
        string ctr = "timeout 60 ctr -n runsc-net-ckpt-test", id = "ckpt-ctr-" + Environment.ProcessId;
        string podman = $"podman --root '{store}/root' --runroot '{store}/run'";
        try
        {
            var image = Sh($"tar -C '{TestRequirements.Rootfs}' -c . | {podman} import - localhost/runsc-net-ckpt:busybox >/dev/null && " +
                $"{podman} save --format oci-archive -o '{dir}/img.tar' localhost/runsc-net-ckpt:busybox >/dev/null && " +
                $"{ctr} images import --base-name localhost/runsc-net-ckpt '{dir}/img.tar'");
            Assert.True(image.Code == 0, image.Err);
            var run = Sh($"{ctr} run -d --runc-binary '{RunscNetBinary.Path}' localhost/runsc-net-ckpt:busybox {id} sh -c '{Counter}'");
            Assert.True(run.Code == 0, run.Err);
            Thread.Sleep(1000);
            var checkpoint = Sh($"{ctr} c checkpoint --task {id} {id}-image");
            Assert.True(checkpoint.Code == 0, checkpoint.Err);
            Assert.Contains("RUNNING", Sh($"{ctr} t ls").Out);   // the shim resumes it
            Sh($"{ctr} t kill -s KILL {id}; sleep 1; {ctr} t rm {id}; {ctr} c rm {id}");
            var restore = Sh($"{ctr} c restore --live {id} {id}-image");
            Assert.True(restore.Code == 0, restore.Err);
            Thread.Sleep(1000);
            Assert.Contains("RUNNING", Sh($"{ctr} t ls").Out);
            Assert.Contains("\n1 ", Sh($"{ctr} t ps {id}").Out);
        }
        finally
        {
            Sh($"{ctr} t kill -s KILL {id}; sleep 1; {ctr} t rm -f {id}; {ctr} c rm {id}; {ctr} images rm {id}-image localhost/runsc-net-ckpt:busybox");
            Sh($"{podman} rmi -f localhost/runsc-net-ckpt:busybox");
        }
    }

    [IntegrationFact(needsRoot: false)]
    public void HelpSucceedsAndUnsupportedModesAreRefused()
    {
        Assert.Equal(0, RunscNetBinary.RunWithoutRoot("checkpoint", "--help").ExitCode);
        Assert.Contains("--pre-dump", _runsc.Run("checkpoint", "--pre-dump", "--image-path", "/tmp/x", "some-id").AssertOneLineError());
        Assert.Contains("--lazy-pages", _runsc.Run("restore", "--lazy-pages", "--image-path", "/tmp/x", "some-id").AssertOneLineError());
        Assert.Contains("does not exist", _runsc.Run("restore", "-no-subreaper", "--status-fd", "3", "--image-path", "/nonexistent", "some-id").AssertOneLineError());
    }
}
