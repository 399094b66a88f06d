using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Several containers in one sandbox (pods), joined by the CRI annotations: one boot process, a
/// gofer per container, per-container state, kill, ps, exec, exit status and delete, and a
/// network stack shared by the pod.
/// </summary>
public sealed class PodTests : IDisposable
{
    private const string TypeKey = "io.kubernetes.cri.container-type", SandboxKey = "io.kubernetes.cri.sandbox-id";

    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    /// <summary>A bundle running <paramref name="args"/> with <paramref name="annotations"/> (and its own rootfs copy when asked).</summary>
    private string Bundle(Dictionary<string, string> annotations, bool ownRootfs, params string[] args)
        => BundleWithProbes(annotations, ownRootfs, null, args);

    /// <summary>As above, with host directory <paramref name="probeDir"/> bind-mounted read-only at /probe when given.</summary>
    private string BundleWithProbes(Dictionary<string, string> annotations, bool ownRootfs, string? probeDir, params string[] args)
    {
        string dir = Bundles.Make(args);
        _dirs.Add(dir);
        string configPath = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        var node = new JsonObject();
        foreach (var (k, v) in annotations) node[k] = v;
        config["annotations"] = node;
        if (ownRootfs)
        {
            // A copy of the busybox rootfs with a marker file only this container should see.
            string rootfs = Path.Combine(dir, "rootfs-copy");
            Run("cp", "-a", config["root"]!["path"]!.GetValue<string>(), rootfs);
            File.WriteAllText(Path.Combine(rootfs, "marker-of-joined"), "joined\n");
            config["root"]!["path"] = rootfs;
        }
        if (probeDir != null)
        {
            config["mounts"]!.AsArray().Add(new JsonObject
            {
                ["destination"] = "/probe", ["type"] = "bind", ["source"] = probeDir,
                ["options"] = new JsonArray("rbind", "ro"),
            });
        }
        File.WriteAllText(configPath, config.ToJsonString());
        return dir;
    }

    private static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program);
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static Dictionary<string, string> Root() => new() { [TypeKey] = "sandbox" };

    private static Dictionary<string, string> Joining(string sandbox) => new() { [TypeKey] = "container", [SandboxKey] = sandbox };

    private JsonElement State(string id) => JsonDocument.Parse(_runsc.Run("state", id).AssertSuccess().Stdout).RootElement.Clone();

    private string Status(string id) => State(id).GetProperty("status").GetString()!;

    private void StartPod(string sandbox, string joined, bool ownRootfs = false, params string[] joinedArgs)
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), sandbox).AssertSuccess();
        _runsc.Run("start", sandbox).AssertSuccess();
        string[] args = joinedArgs.Length > 0 ? joinedArgs : ["sleep", "1000"];
        _runsc.Run("create", "--bundle", Bundle(Joining(sandbox), ownRootfs, args), joined).AssertSuccess();
        _runsc.Run("start", joined).AssertSuccess();
    }

    /// <summary>Host processes whose command line contains all of <paramref name="parts"/>.</summary>
    private static List<int> HostProcesses(params string[] parts)
    {
        var found = new List<int>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (parts.All(p => cmdline.Contains(p, StringComparison.Ordinal))) found.Add(pid);
        }
        return found;
    }

    /// <summary>
    /// Polls until <paramref name="condition"/> holds. The deadline only guards against a hang (a
    /// condition that never comes); it is far beyond what a loaded 2-core machine needs, so it
    /// asserts no timing (it was 20 s, which podman's exec/logs round trips may take under load).
    /// </summary>
    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }

    [IntegrationFact(needsRootfs: true)]
    public void JoinedContainerRunsInTheSandboxWithItsOwnStateProcessesAndRoot()
    {
        StartPod("pod-a", "pod-a-app", ownRootfs: true);
        Assert.True(File.Exists(Path.Combine(_runsc.Root, "pod-a-app_sand:pod-a.state")));
        var root = State("pod-a");
        var joined = State("pod-a-app");
        Assert.Equal("running", root.GetProperty("status").GetString());
        Assert.Equal("running", joined.GetProperty("status").GetString());
        int rootPid = root.GetProperty("pid").GetInt32(), joinedPid = joined.GetProperty("pid").GetInt32();
        Assert.NotEqual(rootPid, joinedPid);

        // One boot process for the pod, a gofer per container.
        Assert.Single(HostProcesses(_runsc.Root, " boot "));
        Assert.Equal(2, HostProcesses(_runsc.Root, " gofer ").Count);

        // Its own cgroup (default cgroupsPath: from its ID) holds its gofer and waiter.
        Assert.Contains("/pod-a-app", File.ReadAllText($"/proc/{joinedPid}/cgroup"));

        // ps: each container its own processes.
        string rootPs = _runsc.Run("ps", "pod-a").AssertSuccess().Stdout;
        string joinedPs = _runsc.Run("ps", "pod-a-app").AssertSuccess().Stdout;
        Assert.Single(rootPs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1));
        Assert.Single(joinedPs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1));

        // exec into the joined container sees its root file system, not the sandbox's.
        var r = _runsc.Run("exec", "pod-a-app", "cat", "/marker-of-joined").AssertSuccess();
        Assert.Equal("joined\n", r.Stdout);
        Assert.NotEqual(0, _runsc.Run("exec", "pod-a", "cat", "/marker-of-joined").ExitCode);

        // Deleting the joined container leaves the sandbox running.
        _runsc.Run("delete", "--force", "pod-a-app").AssertSuccess();
        Assert.False(File.Exists(Path.Combine(_runsc.Root, "pod-a-app_sand:pod-a.state")));
        Assert.Equal("running", Status("pod-a"));
        Assert.Single(HostProcesses(_runsc.Root, " gofer "));
        Assert.Empty(HostProcesses("--root", _runsc.Root, "runsc-net-waiter", " pod-a-app"));
        _runsc.Run("exec", "pod-a", "true").AssertSuccess();

        _runsc.Run("delete", "--force", "pod-a").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
        Assert.Empty(HostProcesses(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void ContainersOfAPodShareLoopbackNetworking()
    {
        StartPod("pod-net", "pod-net-app");
        string outFile = Path.Combine(_runsc.Root, "..", $"pod-net-{Guid.NewGuid():N}.out");
        string errFile = outFile + ".err";
        try
        {
            // The joined container listens; the root container connects to 127.0.0.1.
            var listener = new Thread(() => _runsc.RunTo(outFile, errFile, TimeSpan.FromSeconds(60),
                "exec", "pod-net-app", "busybox", "nc", "-l", "-p", "8080"));
            listener.Start();
            WaitFor(() => _runsc.Run("exec", "pod-net-app", "busybox", "netstat", "-ltn").Stdout.Contains(":8080"), "the listener");
            _runsc.Run("exec", "pod-net", "sh", "-c", "echo hello-from-the-pod | busybox nc -w 2 127.0.0.1 8080").AssertSuccess();
            Assert.True(listener.Join(TimeSpan.FromSeconds(30)));
            Assert.Equal("hello-from-the-pod\n", File.ReadAllText(outFile));
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
        _runsc.Run("delete", "--force", "pod-net").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true, needsTools: "gcc")]
    public void ContainersOfAPodShareSysVIpc()
    {
        string probes = SyscallProbe.Compile("podipc");
        _runsc.Run("create", "--bundle", BundleWithProbes(Root(), false, probes, "sleep", "1000"), "pod-ipc").AssertSuccess();
        _runsc.Run("start", "pod-ipc").AssertSuccess();
        _runsc.Run("create", "--bundle", BundleWithProbes(Joining("pod-ipc"), false, probes, "sleep", "1000"), "pod-ipc-app").AssertSuccess();
        _runsc.Run("start", "pod-ipc-app").AssertSuccess();
        _runsc.Run("exec", "pod-ipc", "/probe/podipc", "send", "4242", "hello-over-sysv").AssertSuccess();
        var r = _runsc.Run("exec", "pod-ipc-app", "/probe/podipc", "recv", "4242").AssertSuccess();
        Assert.Equal("hello-over-sysv\n", r.Stdout);
        _runsc.Run("delete", "--force", "pod-ipc").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void JoinedContainerStopsWithItsOwnStatusWhileTheSandboxLives()
    {
        StartPod("pod-exit", "pod-exit-app", joinedArgs: ["sh", "-c", "sleep 1; exit 3"]);
        var wait = _runsc.Run("wait", "pod-exit-app");
        Assert.Equal(3, wait.ExitCode);
        WaitFor(() => Status("pod-exit-app") == "stopped", "the joined container to read stopped");
        Assert.Equal(0, State("pod-exit-app").GetProperty("pid").GetInt32());
        Assert.Equal("running", Status("pod-exit"));
        // A stopped container is deleted without --force; the sandbox goes on.
        _runsc.Run("delete", "pod-exit-app").AssertSuccess();
        Assert.Equal("running", Status("pod-exit"));
        _runsc.Run("delete", "--force", "pod-exit").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void AJoinedContainerMayRunAndEndBeforeTheRootStarts()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-early").AssertSuccess();
        _runsc.Run("create", "--bundle", Bundle(Joining("pod-early"), false, "sh", "-c", "exit 4"), "pod-early-app").AssertSuccess();
        _runsc.Run("start", "pod-early-app").AssertSuccess();
        Assert.Equal(4, _runsc.Run("wait", "pod-early-app").ExitCode);
        // Its init was not the sandbox's PID 1: its end did not end the sandbox.
        Assert.Equal("created", Status("pod-early"));
        _runsc.Run("start", "pod-early").AssertSuccess();
        Assert.Equal("running", Status("pod-early"));
        Assert.Contains("1        0        S      sleep 1000", _runsc.Run("ps", "pod-early").AssertSuccess().Stdout);
        _runsc.Run("delete", "--force", "pod-early").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void KillReachesOnlyTheNamedContainer()
    {
        StartPod("pod-kill", "pod-kill-app");
        _runsc.Run("exec", "--detach", "pod-kill-app", "sleep", "1000").AssertSuccess();
        _runsc.Run("kill", "--all", "pod-kill-app", "KILL").AssertSuccess();
        WaitFor(() => Status("pod-kill-app") == "stopped", "the joined container to stop");
        WaitFor(() => _runsc.Run("ps", "pod-kill-app").ExitCode != 0
            || _runsc.Run("ps", "pod-kill-app").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 1, "its processes to go");
        Assert.Equal("running", Status("pod-kill"));
        Assert.Contains("sleep 1000", _runsc.Run("ps", "pod-kill").AssertSuccess().Stdout);
        _runsc.Run("delete", "--force", "pod-kill").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void JoiningASandboxThatDoesNotExistCreatesNothing()
    {
        var r = _runsc.Run("create", "--bundle", Bundle(Joining("no-such-pod"), false, "true"), "pod-orphan");
        Assert.NotEqual(0, r.ExitCode);
        string error = r.AssertOneLineError();
        Assert.Contains("no-such-pod", error);
        Assert.Empty(Directory.GetFiles(_runsc.Root));
        Assert.Empty(HostProcesses(_runsc.Root));
    }

    /// <summary>
    /// A joined container shares the sandbox's kernel, so a network (IPC, UTS, PID) namespace path
    /// that is not the sandbox's, here the host's, is refused with one line and nothing is made.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void JoiningWithANamespacePathThatIsNotTheSandboxsIsRefused()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-nspath").AssertSuccess();
        string before = string.Join(",", Directory.GetFiles(_runsc.Root).Order());
        string bundle = Bundle(Joining("pod-nspath"), false, "true");
        EditConfig(bundle, c =>
        {
            foreach (var ns in c["linux"]!["namespaces"]!.AsArray())
                if (ns!["type"]!.GetValue<string>() == "network") ns.AsObject()["path"] = "/proc/self/ns/net";
        });
        var r = _runsc.Run("create", "--bundle", bundle, "pod-nspath-app");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("not the sandbox's", r.AssertOneLineError());
        Assert.Equal(before, string.Join(",", Directory.GetFiles(_runsc.Root).Order()));
        _runsc.Run("delete", "--force", "pod-nspath").AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void PauseStopsOnlyTheNamedContainer()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-pause").AssertSuccess();
        _runsc.Run("start", "pod-pause").AssertSuccess();
        string outFile = Path.Combine(_runsc.Root, "..", $"pod-pause-{Guid.NewGuid():N}.out");
        try
        {
            // The joined container's init writes to create's stdout: a growing file while it runs.
            string bundle = Bundle(Joining("pod-pause"), false, "sh", "-c", "while true; do echo tick; usleep 20000; done");
            _runsc.RunTo(outFile, outFile + ".err", TimeSpan.FromMinutes(1), "create", "--bundle", bundle, "pod-pause-app").AssertSuccess();
            _runsc.Run("start", "pod-pause-app").AssertSuccess();
            WaitFor(() => new FileInfo(outFile).Length > 0, "the joined container to write");
            _runsc.Run("pause", "pod-pause-app").AssertSuccess();
            Assert.Equal("paused", Status("pod-pause-app"));
            Assert.Equal("running", Status("pod-pause"));
            _runsc.Run("exec", "pod-pause", "true").AssertSuccess();
            Thread.Sleep(200);
            long frozen = new FileInfo(outFile).Length;
            Thread.Sleep(500);
            Assert.Equal(frozen, new FileInfo(outFile).Length);
            _runsc.Run("resume", "pod-pause-app").AssertSuccess();
            Assert.Equal("running", Status("pod-pause-app"));
            WaitFor(() => new FileInfo(outFile).Length > frozen, "the joined container to write again");
        }
        finally
        {
            _runsc.Run("delete", "--force", "pod-pause").AssertSuccess();
            File.Delete(outFile);
            File.Delete(outFile + ".err");
        }
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void AGoferThatDiesTakesDownNoOtherContainer()
    {
        StartPod("pod-gofer", "pod-gofer-app");
        int gofer = JsonDocument.Parse(File.ReadAllText(Path.Combine(_runsc.Root, "pod-gofer-app_sand:pod-gofer.state")))
            .RootElement.GetProperty("goferPid").GetInt32();
        Process.GetProcessById(gofer).Kill();
        Thread.Sleep(200);
        // Its files fail (EIO), the sandbox and the other container go on.
        Assert.NotEqual(0, _runsc.Run("exec", "pod-gofer-app", "cat", "/etc/passwd").ExitCode);
        Assert.Equal("running", Status("pod-gofer"));
        _runsc.Run("exec", "pod-gofer", "cat", "/etc/passwd").AssertSuccess();
        _runsc.Run("delete", "--force", "pod-gofer-app").AssertSuccess();
        Assert.Equal("running", Status("pod-gofer"));
        _runsc.Run("delete", "--force", "pod-gofer").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void TwoContainersJoinAtTheSameTime()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-race").AssertSuccess();
        _runsc.Run("start", "pod-race").AssertSuccess();
        string b1 = Bundle(Joining("pod-race"), false, "sleep", "1000"), b2 = Bundle(Joining("pod-race"), false, "sleep", "1000");
        CommandResult? r1 = null, r2 = null;
        var t1 = new Thread(() => r1 = _runsc.Run("create", "--bundle", b1, "pod-race-1"));
        var t2 = new Thread(() => r2 = _runsc.Run("create", "--bundle", b2, "pod-race-2"));
        t1.Start();
        t2.Start();
        t1.Join();
        t2.Join();
        r1!.AssertSuccess();
        r2!.AssertSuccess();
        _runsc.Run("start", "pod-race-1").AssertSuccess();
        _runsc.Run("start", "pod-race-2").AssertSuccess();
        Assert.Equal("running", Status("pod-race-1"));
        Assert.Equal("running", Status("pod-race-2"));
        Assert.Contains("sleep 1000", _runsc.Run("ps", "pod-race-2").AssertSuccess().Stdout);
        _runsc.Run("delete", "--force", "pod-race").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    [IntegrationFact(needsRootfs: true)]
    public void CriOAnnotationsJoinToo()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-crio").AssertSuccess();
        _runsc.Run("start", "pod-crio").AssertSuccess();
        var crio = new Dictionary<string, string> { ["io.kubernetes.cri-o.ContainerType"] = "container", ["io.kubernetes.cri-o.SandboxID"] = "pod-crio" };
        _runsc.Run("create", "--bundle", Bundle(crio, false, "sleep", "1000"), "pod-crio-app").AssertSuccess();
        Assert.True(File.Exists(Path.Combine(_runsc.Root, "pod-crio-app_sand:pod-crio.state")));
        Assert.Single(HostProcesses(_runsc.Root, " boot "));
        Assert.Equal("created", Status("pod-crio-app"));
        _runsc.Run("delete", "--force", "pod-crio").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
    }

    private static (int Code, string Out, string Err) Sh(string script, int timeoutSeconds = 120) => HostShell.Sh(script, timeoutSeconds);

    /// <summary>
    /// podman 4.3 marks a pod's containers with CRI-O's annotations (ContainerType, SandboxID =
    /// the infra container), so `podman run --pod` joins the infra container's sandbox.
    /// </summary>
    [IntegrationFact(needsRootfs: true, needsTools: "podman")]
    public void PodmanPodContainersShareOneSandbox()
    {
        string runsc = RunscNetBinary.Path!;
        Assert.Equal(0, Sh($"tar -C '{TestRequirements.Rootfs}' -c . | podman import - localhost/runsc-net-test:busybox").Code);
        string pod = "runsc-net-pod-" + Environment.ProcessId;
        try
        {
            var create = Sh($"podman --runtime '{runsc}' pod create --name {pod}");
            Assert.True(create.Code == 0, create.Err);
            var a = Sh($"podman --runtime '{runsc}' run -d --pod {pod} --name {pod}-a localhost/runsc-net-test:busybox sleep 100");
            Assert.True(a.Code == 0, a.Err);
            var b = Sh($"podman --runtime '{runsc}' run -d --pod {pod} --name {pod}-b localhost/runsc-net-test:busybox busybox nc -l -p 8080");
            Assert.True(b.Code == 0, b.Err);
            string infra = Sh($"podman pod inspect {pod} --format '{{{{.InfraContainerID}}}}'").Out.Trim();
            string bId = b.Out.Trim();
            // b's state is keyed by the infra container's sandbox: it joined it.
            Assert.True(File.Exists($"/run/runsc-net/{bId}_sand:{infra}.state"), $"no state of {bId} in sandbox {infra}");
            WaitFor(() => Sh($"podman --runtime '{runsc}' exec {pod}-b busybox netstat -ltn").Out.Contains(":8080"), "the listener");
            var send = Sh($"podman --runtime '{runsc}' exec {pod}-a sh -c 'echo over-the-pod-loopback | busybox nc -w 2 127.0.0.1 8080'");
            Assert.True(send.Code == 0, send.Err);
            WaitFor(() => Sh($"podman logs {pod}-b").Out.Contains("over-the-pod-loopback"), "b to print what a sent");
            var stop = Sh($"podman --runtime '{runsc}' pod stop -t 2 {pod}");
            Assert.True(stop.Code == 0, stop.Err);
            var rm = Sh($"podman --runtime '{runsc}' pod rm {pod}");
            Assert.True(rm.Code == 0, rm.Err);
            Assert.Empty(Directory.GetFiles("/run/runsc-net", $"*{infra}*"));
        }
        finally
        {
            Sh($"podman --runtime '{runsc}' pod rm -f -t 0 {pod}");
        }
    }

    [IntegrationFact(needsRootfs: true)]
    public void KillingTheSentryStopsEveryContainerAndDeleteForceCleansUp()
    {
        StartPod("pod-crash", "pod-crash-app");
        int boot = State("pod-crash").GetProperty("pid").GetInt32();
        Process.GetProcessById(boot).Kill();
        WaitFor(() => Status("pod-crash") == "stopped" && Status("pod-crash-app") == "stopped", "both containers to read stopped");
        _runsc.Run("delete", "--force", "pod-crash-app").AssertSuccess();
        _runsc.Run("delete", "--force", "pod-crash").AssertSuccess();
        Assert.Empty(Directory.GetFiles(_runsc.Root));
        WaitFor(() => HostProcesses(_runsc.Root).Count == 0, "every process of the pod to go");
    }
    /// <summary>Rewrites <paramref name="bundle"/>'s config.json with <paramref name="edit"/>.</summary>
    private static void EditConfig(string bundle, Action<JsonNode> edit)
    {
        string path = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Sets (or with a null path, clears) the path of the spec's pid namespace entry.</summary>
    private static void SetPidNamespacePath(JsonNode config, string? path)
    {
        foreach (var ns in config["linux"]!["namespaces"]!.AsArray())
            if (ns!["type"]!.GetValue<string>() == "pid") ns.AsObject()["path"] = path;
    }

    /// <summary>
    /// A pid namespace entry without a path (Kubernetes' default, shareProcessNamespace false)
    /// gives the joined container a PID namespace of its own: its init is PID 1 there and it sees
    /// none of the pod's other processes; a path to the sandbox's (shareProcessNamespace true)
    /// shares the pod's, whose PID 1 is the root container's init.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void AJoinedContainerGetsItsOwnPidNamespaceUnlessItNamesThePods()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-pid").AssertSuccess();
        _runsc.Run("start", "pod-pid").AssertSuccess();
        int boot = State("pod-pid").GetProperty("pid").GetInt32();

        string own = Bundle(Joining("pod-pid"), false, "sleep", "1001");
        EditConfig(own, c => SetPidNamespacePath(c, null));
        _runsc.Run("create", "--bundle", own, "pod-pid-own").AssertSuccess();
        _runsc.Run("start", "pod-pid-own").AssertSuccess();
        string shared = Bundle(Joining("pod-pid"), false, "sleep", "1002");
        EditConfig(shared, c => SetPidNamespacePath(c, $"/proc/{boot}/ns/pid"));
        _runsc.Run("create", "--bundle", shared, "pod-pid-shared").AssertSuccess();
        _runsc.Run("start", "pod-pid-shared").AssertSuccess();

        Assert.Equal("sleep 1001 ", _runsc.Run("exec", "pod-pid-own", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline").AssertSuccess().Stdout);
        string ownView = _runsc.Run("exec", "pod-pid-own", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo; echo self=$$ parent=$PPID").AssertSuccess().Stdout;
        Assert.DoesNotContain("sleep 1000", ownView);
        Assert.DoesNotContain("sleep 1002", ownView);
        Assert.Contains("parent=0", ownView);   // exec'd processes have no parent in the namespace
        // kill by the namespace's numbers: PID 1 here is the container's init, not the sandbox's.
        _runsc.Run("exec", "pod-pid-own", "kill", "-0", "1").AssertSuccess();

        Assert.Equal("sleep 1000 ", _runsc.Run("exec", "pod-pid-shared", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline").AssertSuccess().Stdout);
        string sharedView = _runsc.Run("exec", "pod-pid-shared", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").AssertSuccess().Stdout;
        Assert.Contains("sleep 1001", sharedView);   // the pod's namespace holds the one below it
        Assert.Contains("sleep 1002", sharedView);

        // The container's init ignores signals it has no handler for, as a PID namespace's init.
        _runsc.Run("exec", "pod-pid-own", "kill", "-TERM", "1").AssertSuccess();
        Thread.Sleep(300);
        Assert.Equal("running", Status("pod-pid-own"));
        _runsc.Run("kill", "pod-pid-own", "KILL").AssertSuccess();
        WaitFor(() => Status("pod-pid-own") == "stopped", "the container to stop");
        Assert.Equal("running", Status("pod-pid-shared"));
        _runsc.Run("delete", "--force", "pod-pid").AssertSuccess();
    }

    /// <summary>
    /// When the init of a container sharing the pod's PID namespace ends, its other processes live
    /// on; `kill --all` of the stopped container reaches them, as runc's does (containerd's shim
    /// sends it then).
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void KillAllOfAStoppedJoinedContainerReachesWhatIsLeft()
    {
        _runsc.Run("create", "--bundle", Bundle(Root(), false, "sleep", "1000"), "pod-left").AssertSuccess();
        _runsc.Run("start", "pod-left").AssertSuccess();
        int boot = State("pod-left").GetProperty("pid").GetInt32();
        string bundle = Bundle(Joining("pod-left"), false, "sh", "-c", "sleep 1234 & exit 0");
        EditConfig(bundle, c => SetPidNamespacePath(c, $"/proc/{boot}/ns/pid"));
        _runsc.Run("create", "--bundle", bundle, "pod-left-app").AssertSuccess();
        _runsc.Run("start", "pod-left-app").AssertSuccess();
        WaitFor(() => Status("pod-left-app") == "stopped", "the joined container's init to end");
        string Cmdlines() => _runsc.Run("exec", "pod-left", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").Stdout;
        Assert.Contains("sleep 1234", Cmdlines());
        _runsc.Run("kill", "--all", "pod-left-app", "KILL").AssertSuccess();
        WaitFor(() => !Cmdlines().Contains("sleep 1234"), "the left-over process to be killed");
        _runsc.Run("delete", "pod-left-app").AssertSuccess();
        _runsc.Run("delete", "--force", "pod-left").AssertSuccess();
    }

    /// <summary>
    /// `exec --detach` leaves a waiter whose pid stands for the process (containerd's shim waits
    /// on it and kills it on an exec timeout): killing the waiter kills the process in the sandbox.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void KillingADetachedExecsWaiterKillsTheProcess()
    {
        StartPod("pod-execkill", "pod-execkill-app");
        string pidFile = Path.Combine(_runsc.Root, "..", $"exec-{Environment.ProcessId}.pid");
        try
        {
            _runsc.Run("exec", "--detach", "--pid-file", pidFile, "pod-execkill-app", "sleep", "1234").AssertSuccess();
            int waiter = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains("sleep 1234", _runsc.Run("ps", "pod-execkill-app").AssertSuccess().Stdout);
            Process.GetProcessById(waiter).Kill();
            WaitFor(() => !_runsc.Run("ps", "pod-execkill-app").Stdout.Contains("sleep 1234"), "the exec'd process to be killed");
            Assert.Equal("running", Status("pod-execkill-app"));
        }
        finally
        {
            File.Delete(pidFile);
        }
        _runsc.Run("delete", "--force", "pod-execkill").AssertSuccess();
    }

    /// <summary>
    /// A bind mount with `rslave` propagation (Kubernetes' HostToContainer) receives what the host
    /// mounts below its source after the container started; `rprivate` does not.
    /// </summary>
    [IntegrationFact(needsRootfs: true)]
    public void HostMountsPropagateIntoAnRslaveBindMount()
    {
        string host = Directory.CreateTempSubdirectory("runsc-net-propagation-").FullName;
        _dirs.Add(host);
        string source = Path.Combine(host, "mnt"), later = Path.Combine(host, "later");
        Directory.CreateDirectory(Path.Combine(source, "slave-point"));
        Directory.CreateDirectory(Path.Combine(source, "private-point"));
        Directory.CreateDirectory(later);
        File.WriteAllText(Path.Combine(later, "flag"), "propagated\n");
        Assert.Equal(0, Sh($"mount --bind '{source}' '{source}' && mount --make-rshared '{source}'").Code);
        try
        {
            string bundle = Bundle(new(), false, "sleep", "1000");
            EditConfig(bundle, c =>
            {
                c["mounts"]!.AsArray().Add(new JsonObject
                {
                    ["destination"] = "/slave", ["type"] = "bind", ["source"] = source, ["options"] = new JsonArray("rbind", "rslave"),
                });
                c["mounts"]!.AsArray().Add(new JsonObject
                {
                    ["destination"] = "/private", ["type"] = "bind", ["source"] = source, ["options"] = new JsonArray("rbind", "rprivate"),
                });
            });
            _runsc.Run("create", "--bundle", bundle, "propagation").AssertSuccess();
            _runsc.Run("start", "propagation").AssertSuccess();
            Assert.Equal(0, Sh($"mount --bind '{later}' '{source}/slave-point'").Code);
            Assert.Equal("propagated\n", _runsc.Run("exec", "propagation", "cat", "/slave/slave-point/flag").AssertSuccess().Stdout);
            Assert.NotEqual(0, _runsc.Run("exec", "propagation", "cat", "/private/slave-point/flag").ExitCode);
            _runsc.Run("delete", "--force", "propagation").AssertSuccess();
        }
        finally
        {
            Sh($"umount -l '{source}/slave-point'; umount -l '{source}'");
        }
    }
}
