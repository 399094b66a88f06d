using System.Diagnostics;
using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Threads;

/// <summary>
/// POSIX threads in the sandbox through the published binary: a static C program
/// (Fixtures/threads.c, built with gcc -static -pthread by Fixtures/build-threads.sh) copied into
/// a copy of the busybox rootfs, and the host's dynamic python3 with its libraries, each run with
/// `runsc-net run` and compared with the same program run natively.
/// </summary>
public class ThreadsTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _cleanup = new();

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (var d in _cleanup)
        {
            try
            {
                Directory.Delete(d, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string NewId() => "t" + Guid.NewGuid().ToString("N")[..8];

    private static string FixturesDir => Path.Combine(AppContext.BaseDirectory, "Threads", "Fixtures");

    private static (int ExitCode, string Stdout) RunNative(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout);
    }

    /// <summary>
    /// Builds the threads program and a rootfs (a copy of the busybox fixture with the program
    /// in /bin/threads); returns the rootfs and the native binary. The tests' attribute
    /// skips them when the fixture or gcc is missing.
    /// </summary>
    private (string Rootfs, string Native) ThreadsRootfs()
    {
        string busybox = TestRequirements.Rootfs!;
        string work = Directory.CreateTempSubdirectory("runsc-net-threads-").FullName;
        _cleanup.Add(work);
        string native = Path.Combine(work, "threads");
        var build = RunNative("/bin/sh", Path.Combine(FixturesDir, "build-threads.sh"), native);
        Assert.True(build.ExitCode == 0 && File.Exists(native), "building the threads fixture failed");
        string rootfs = Path.Combine(work, "rootfs");
        var copy = RunNative("/bin/cp", "-a", busybox, rootfs);
        Assert.Equal(0, copy.ExitCode);
        File.Copy(native, Path.Combine(rootfs, "bin/threads"));
        return (rootfs, native);
    }

    private static string Bundle(string rootfs, JsonArray? extraMounts, params string[] args)
    {
        string dir = Bundles.Make(args);
        string configPath = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["root"]!["path"] = rootfs;
        if (extraMounts != null)
            foreach (var m in extraMounts) config["mounts"]!.AsArray().Add(m!.DeepClone());
        File.WriteAllText(configPath, config.ToJsonString());
        return dir;
    }

    /// <summary>Runs `threads MODE` natively and in the sandbox; both must print the same and exit the same.</summary>
    private void SameAsNative(string mode, string expectedStdout, int expectedExit = 0)
    {
        var (rootfs, native) = ThreadsRootfs();
        var host = RunNative(native, mode);
        Assert.Equal(expectedStdout, host.Stdout);
        Assert.Equal(expectedExit, host.ExitCode);
        var r = _runsc.Run("run", "--bundle", Bundle(rootfs, null, "/bin/threads", mode), NewId());
        Assert.True(host.Stdout == r.Stdout, $"sandbox printed:\n{r.Stdout}\nstderr:\n{r.Stderr}\nnative printed:\n{host.Stdout}");
        Assert.Equal(host.ExitCode, r.ExitCode);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void EightThreadsCountToEightHundredThousandUnderAMutex() =>
        SameAsNative("counter", "counter 800000\njoin results 280\ngetpid same in every thread: yes\ngettid distinct: yes\n");

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ConditionVariablePingPong() =>
        SameAsNative("pingpong", "pingpong 4000 turns, 0 out of order\n");

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ExitFromOneThreadEndsThreadsBlockedInFutexWaits() =>
        SameAsNative("exitgroup", "thread calls exit(3)\n", 3);

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void KillEndsAProcessWhoseThreadsBlockAndAThreadReapsIt() =>
        SameAsNative("kill", "child threads blocked\nreaped by a thread: yes\nchild killed by signal 15\n");

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void PthreadKillReachesTheNamedThreadAndInterruptsItsFutexWait() =>
        SameAsNative("tkill", "target's sem_wait: EINTR\nhandler ran in the target thread: yes\n");

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ProcListsEveryThread() =>
        SameAsNative("proc", "task entries 4, leader listed: yes, Threads: 4\n");

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ExecFromANonLeaderThreadKeepsThePid() =>
        SameAsNative("execthread", "after exec: same pid yes, tid == pid yes\n");

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ProcessOutlivesItsMainThreadsPthreadExit() =>
        SameAsNative("mainexit", "main thread exits\nworker outlived main, same pid: yes\n");

    private const string PythonScript = """
        import threading, concurrent.futures
        out = []
        lock = threading.Lock()
        def work(n):
            for i in range(1000):
                with lock:
                    out.append((n, i))
        ts = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(len(out), sorted(set(n for n, _ in out)), [sum(1 for m, _ in out if m == n) for n in range(4)])
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            print(list(ex.map(lambda x: x * x, range(10))))
        print(threading.active_count())
        """;

    // Debian's python3 package (.ci/run installs it) brings its standard library and ldd is in libc-bin.
    [IntegrationFact(needsFiles: "/usr/bin/python3 /usr/bin/ldd")]
    public void DynamicPythonThreadingAndThreadPoolExecutor()
    {
        string python = "/usr/bin/python3";
        string real = new FileInfo(python).ResolveLinkTarget(true)?.FullName ?? python;   // /usr/bin/python3.11
        string stdlib = "/usr/lib/" + Path.GetFileName(real);
        Assert.True(Directory.Exists(stdlib), $"{stdlib} (python's standard library) is missing beside {real}");
        var ldd = RunNative("/usr/bin/ldd", real);
        Assert.Equal(0, ldd.ExitCode);
        var files = new List<string> { real };
        foreach (var line in ldd.Stdout.Split('\n'))
        {
            // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var words = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string? lib = words.FirstOrDefault(w => w.StartsWith('/'));
            if (lib != null) files.Add(lib);
        }
        string work = Directory.CreateTempSubdirectory("runsc-net-python-").FullName;
        _cleanup.Add(work);
        string rootfs = Path.Combine(work, "rootfs");
        foreach (var f in files)
        {
            string dest = Path.Combine(rootfs, f.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(new FileInfo(f).ResolveLinkTarget(true)?.FullName ?? f, dest, overwrite: true);
        }
        foreach (var d in new[] { "proc", "dev", "tmp", stdlib.TrimStart('/') }) Directory.CreateDirectory(Path.Combine(rootfs, d));
        File.WriteAllText(Path.Combine(rootfs, "t.py"), PythonScript);
        File.WriteAllText(Path.Combine(work, "t.py"), PythonScript);

        var host = RunNative(real, "-I", Path.Combine(work, "t.py"));
        Assert.Equal(0, host.ExitCode);
        Assert.Equal("4000 [0, 1, 2, 3] [1000, 1000, 1000, 1000]\n[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n1\n", host.Stdout);
        var mounts = new JsonArray
        {
            new JsonObject
            {
                ["destination"] = stdlib, ["type"] = "bind", ["source"] = stdlib,
                ["options"] = new JsonArray("rbind", "ro"),
            },
        };
        var r = _runsc.Run("run", "--bundle", Bundle(rootfs, mounts, real, "-I", "/t.py"), NewId());
        Assert.True(host.Stdout == r.Stdout, $"sandbox printed:\n{r.Stdout}\nstderr:\n{r.Stderr}\nnative printed:\n{host.Stdout}");
        Assert.Equal(0, r.ExitCode);
    }
}
