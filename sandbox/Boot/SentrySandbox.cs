using RunscNet.Gofer;
using RunscNet.Sentry.Control;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Syscalls;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.StateFile.Oci;
using Task = RunscNet.Sentry.Kernel.Task;

// Lock order of the boot side: SentrySandbox._joined -> VirtualFileSystem._mountLock (a
// container that fails to join drops its mount tree under the table lock);
// SentrySandbox._checkpointLock -> CheckpointGate._lock, Kernel.TaskLock (held, with TryEnter,
// for the whole checkpoint: the saver stops the tasks and reads them);
// JoinedContainer (lock (this)) -> DebugLog (the exit record is logged under it).
// Leaves: SentrySandbox._startLock, JoinedContainer.Stdio.
// Kernel.TaskLock is taken on its own here (a snapshot of a group's tasks).

namespace RunscNet.Sentry.Boot;

/// <summary>
/// One running sandbox: the kernel with its mount table built from the spec through the gofer,
/// the container's init prepared from <c>process</c>, and the <see cref="ISandboxControl"/> the
/// control server drives (start, signal, ps, exec, wait, pause, resume).
/// </summary>
internal sealed partial class SentrySandbox : ISandboxControl
{
    private readonly Spec _spec;
    private readonly int[] _stdio;
    private readonly int _consoleFd;
    /// <summary>linux.seccomp as the container's processes' filter (init's and every exec's), or none.</summary>
    private readonly Kernel.Seccomp.SeccompState _seccomp;
    private readonly object _startLock = new();
    private bool _started;

    /// <summary>The sandbox's kernel.</summary>
    public Kernel.Kernel Kernel { get; }

    private SentrySandbox(Spec spec, Kernel.Kernel kernel, int[] stdio, int consoleFd)
    {
        _spec = spec;
        Kernel = kernel;
        _stdio = stdio;
        _consoleFd = consoleFd;
        _seccomp = ContainerSeccomp(spec);
    }

    /// <summary>The filter state linux.seccomp asks for; throws with a one-line message for a profile runc would refuse.</summary>
    internal static Kernel.Seccomp.SeccompState ContainerSeccomp(Spec spec)
    {
        if (spec.Linux?.Seccomp is not System.Text.Json.JsonElement profile || profile.ValueKind == System.Text.Json.JsonValueKind.Null)
            return RunscNet.Sentry.Kernel.Seccomp.SeccompState.None;
        try
        {
            return RunscNet.Sentry.Kernel.Seccomp.SeccompState.None.With(RunscNet.Sentry.Kernel.Seccomp.OciSeccompProfile.Parse(profile))!;
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException(e.Message);
        }
    }

    /// <summary>The nodename of boot's own UTS namespace ("localhost" if it cannot be read).</summary>
    private static unsafe string HostUtsName()
    {
        // uname(2) rather than Environment.MachineName, which cuts the name at its first dot.
        byte* buf = stackalloc byte[6 * 65];
        if (Uname(buf) != 0) return "localhost";
        string name = new string((sbyte*)buf + 65);
        return name.Length > 0 ? name : "localhost";
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "uname")]
    private static unsafe partial int Uname(byte* buf);

    /// <summary>
    /// Builds the sandbox: kernel, platform (<paramref name="platform"/>, ptrace when null), mounts from <paramref name="spec"/> through
    /// <paramref name="gofer"/>, hostname. <paramref name="stdio"/> are the host fds init gets as
    /// 0, 1, 2 (ignored when <paramref name="consoleFd"/> ≥ 0, which then serves all three and
    /// /dev/tty). Throws with a one-line message on failure.
    /// </summary>
    public static SentrySandbox Create(Spec spec, GoferClient gofer, int[] stdio, int consoleFd, DebugLog log, bool strace, IPlatform? platform = null,
        bool memoryOverlay = false, int[]? preservedFds = null)
    {
        Platform.Systrap.StubIds.Log = log;
        var kernel = new Kernel.Kernel
        {
            Platform = platform ?? new PtracePlatform(),
            Syscalls = LinuxSyscalls.Table,
            Log = log,
            Strace = strace,
            // No hostname in the spec: the one of the UTS namespace boot runs in (inherited,
            // joined, or new and thus a copy of its parent's), as runc's container sees.
            Hostname = string.IsNullOrEmpty(spec.Hostname) ? HostUtsName() : spec.Hostname,
            Domainname = string.IsNullOrEmpty(spec.Domainname) ? "(none)" : spec.Domainname,
            UtsShared = spec.Linux?.Namespaces?.FirstOrDefault(n => n.Type == "uts") is not { Path: null },
        };
        // The console is terminal 0 of the sandbox's devpts (before /dev is built: it gets /dev/console).
        if (consoleFd >= 0) DevptsFileSystem.Instance.Register(consoleFd, persistent: true);
        int err = kernel.Vfs.MountContainer(spec, gofer, memoryOverlay);
        if (err < 0) throw new InvalidOperationException(kernel.Vfs.MountFailure ?? $"mounting the container's root through the gofer: errno {-err}");
        foreach (var w in kernel.Vfs.MountWarnings) log.Write($"mount: {w}");
        // /dev/tty: the controlling terminal of the opener's session (the console for init's,
        // an exec's --tty terminal for that exec's).
        DeviceRegistry.ControllingTty = (task, flags) =>
        {
            int session = Vfs.Proc.ProcFileSystem.Describe(task).Session;
            if (HostFileDescription.ControllingTerminalOf(session) is not ulong rdev
                || DeviceRegistry.Major(rdev) != DevptsFileSystem.PtySlaveMajor) return null;
            return DevptsFileSystem.Instance.ByNumber((int)DeviceRegistry.Minor(rdev))?.Reopen(flags);
        };
        // Start-up garbage (spec, mount table, serializers) should not stay resident while the container idles.
        Gofer.Process.IdleHeapTrim.Schedule(TimeSpan.FromMilliseconds(300));
        return new SentrySandbox(spec, kernel, stdio, consoleFd) { _preservedFds = preservedFds ?? Array.Empty<int>(), _memoryOverlay = memoryOverlay };
    }

    /// <summary>Host fds (--preserve-fds) init gets as its fds 3, 4, ...</summary>
    private int[] _preservedFds = Array.Empty<int>();

    private static Credentials CredentialsFor(uint uid, uint gid, IEnumerable<uint>? groups, Process? p)
    {
        // As runc: without process.capabilities the sets are left as they are (all, for root);
        // a capabilities object without a list means that set is empty (containerd omits the
        // empty lists of "drop ALL").
        var caps = p?.Capabilities;
        ulong bounding = caps == null ? Credentials.AllCaps : Capabilities.FromNames(caps.Bounding, 0);
        ulong effective = caps == null ? (uid == 0 ? bounding : 0) : Capabilities.FromNames(caps.Effective, 0);
        ulong permitted = caps == null ? effective : Capabilities.FromNames(caps.Permitted, 0);
        ulong inheritable = Capabilities.FromNames(p?.Capabilities?.Inheritable, 0);
        // As runc's capset/PR_CAP_AMBIENT_RAISE before execve: an ambient capability needs to be
        // permitted and inheritable, or it is not raised.
        ulong ambient = Capabilities.FromNames(p?.Capabilities?.Ambient, 0) & permitted & inheritable;
        var g = (groups ?? Array.Empty<uint>()).Distinct().OrderBy(x => x).ToArray();
        return new Credentials(uid, gid, uid, gid, uid, gid, uid, gid, g, effective, permitted, inheritable, bounding) { AmbientCaps = ambient };
    }

    private Rlimits LimitsFor(Process? p)
    {
        var limits = Rlimits.FromHost();
        foreach (var r in p?.Rlimits ?? new List<Rlimit>())
        {
            int res = Rlimits.FromName(r.Type);
            if (res >= 0) limits.Set(res, Math.Min(r.Soft, r.Hard), r.Hard, privileged: true);
        }
        return limits;
    }

    /// <summary>
    /// Gives <paramref name="t"/> stdio from host fds (dup'ed: the caller keeps its own), its root
    /// (<paramref name="root"/>, else the sandbox's), cwd and umask.
    /// </summary>
    private static void SetUpFiles(Task t, int[] stdio, string cwd, uint? umask, VfsPath? root = null)
    {
        for (int i = 0; i < 3 && i < stdio.Length; i++)
        {
            if (stdio[i] < 0) continue;
            int fd = Fcntl.Dup(stdio[i]);
            if (fd < 0) continue;
            t.Fds.InstallAt(i, HostFileDescription.FromHostFd(fd), closeOnExec: false);
            // InstallAt took its own reference; drop the creation reference.
            t.Fds.Get(i)!.DecRef();
        }
        t.Fs = new FsContext(root ?? t.Kernel.Vfs.RootPath);
        if (umask is uint u) t.Fs.Umask = (int)u;
        if (!string.IsNullOrEmpty(cwd) && t.Kernel.Vfs.Resolve(t, t.Fs.Root, cwd, true, out var loc) == 0)
            t.Fs.Cwd = loc;
    }

    /// <summary>--preserve-fds: host fds <paramref name="hostFds"/> become fds 3, 4, ... of <paramref name="t"/> (dup'ed).</summary>
    private static void InstallPreserved(Task t, int[] hostFds)
    {
        for (int i = 0; i < hostFds.Length; i++)
        {
            int fd = Fcntl.Dup(hostFds[i]);
            if (fd < 0) continue;
            FileDescription file = (FileDescription?)Vfs.Socket.HostSocket.FromHostFd(fd) ?? HostFileDescription.FromHostFd(fd);
            t.Fds.InstallAt(3 + i, file, closeOnExec: false);
            file.DecRef();
        }
    }

    private static string Describe(int errno, string path) => errno switch
    {
        Errno.ENOENT => $"exec {path}: no such file or directory",
        Errno.EACCES => $"exec {path}: permission denied",
        Errno.ENOEXEC => $"exec {path}: exec format error",
        Errno.ENOTDIR => $"exec {path}: not a directory",
        Errno.ELOOP => $"exec {path}: too many levels of symbolic links",
        _ => $"exec {path}: errno {errno}",
    };

    /// <summary>Finds <paramref name="cmd"/> in PATH of <paramref name="env"/> the way execvp does (the runtime's job for runc).</summary>
    private string ResolveCommand(Task t, string cmd, List<string> env)
    {
        if (cmd.Contains('/')) return cmd;
        string path = env.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..]
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = dir.TrimEnd('/') + "/" + cmd;
            if (Kernel.Vfs.Resolve(t, t.Fs.Cwd, candidate, true, out var loc) == 0 && !loc.Inode.IsDirectory) return candidate;
        }
        return cmd;
    }

    /// <inheritdoc/>
    public void Start()
    {
        lock (_startLock)
        {
            if (_started) throw new InvalidOperationException("the container was already started");
            _started = true;
        }
        var p = _spec.Process ?? throw new InvalidOperationException("the spec has no process to run");
        if (p.Args == null || p.Args.Count == 0) throw new InvalidOperationException("the spec's process has no args");
        var creds = CredentialsFor(p.User.Uid, p.User.Gid, p.User.AdditionalGids, p);
        var init = Kernel.CreateInit(creds, LimitsFor(p));
        init.NoNewPrivileges = p.NoNewPrivileges;
        init.Seccomp = _seccomp;
        // As runc writes it for its init (the host's processes of the sandbox got it from the runtime).
        // runc's init writes it while privileged, which also sets the floor (oom_score_adj_min).
        init.ThreadGroup.OomScoreAdj = init.ThreadGroup.OomScoreAdjMin = p.OomScoreAdj ?? 0;
        int[] stdio = _consoleFd >= 0 ? new[] { _consoleFd, _consoleFd, _consoleFd } : _stdio;
        SetUpFiles(init, stdio, p.Cwd, p.User.Umask);
        InstallPreserved(init, _preservedFds);
        // As runc's init does with setsid + TIOCSCTTY: the console controls init's session.
        if (_consoleFd >= 0 && init.Fds.Get(0) is HostFileDescription { IsTty: true } console) console.MakeControllingTerminal(init.Pid, init.Pid);
        var env = p.Env ?? new List<string>();
        string path = ResolveCommand(init, p.Args[0], env);
        int err = init.StartProcess(path, new List<string>(p.Args), new List<string>(env));
        if (err < 0) throw new InvalidOperationException(Describe(-err, p.Args[0]));
    }

    /// <inheritdoc/>
    public void Signal(int signal, bool all)
    {
        if (!RunscNet.Sentry.Kernel.Signal.IsValid(signal)) throw new InvalidOperationException($"invalid signal {signal}");
        if (all)
        {
            foreach (var g in Kernel.ThreadGroups().Where(g => g.ContainerId.Length == 0))
                Kernel.SendSignalToGroup(g, SignalInfo.FromUser(signal, SignalInfo.SI_USER, 0, 0), SignalSource.Outside);
            return;
        }
        var init = Kernel.Init;
        if (init == null)
        {
            // Created, not started: the waiting init "dies" of a fatal signal (as under runc) and
            // the sandbox process ends; signals whose default is to ignore or stop do nothing.
            var action = RunscNet.Sentry.Kernel.Signal.DefaultActionOf(signal);
            if (action is DefaultAction.Terminate or DefaultAction.CoreDump)
            {
                lock (_startLock) _started = true;
                Kernel.OnInitExited(WaitStatus.Signaled(signal, false));
            }
            return;
        }
        Kernel.SendSignalToGroup(init, SignalInfo.FromUser(signal, SignalInfo.SI_USER, 0, 0), SignalSource.Outside);
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessInfo> Processes() => ProcessesOf("");

    /// <summary>The processes of the container <paramref name="containerId"/> ("" the root container's).</summary>
    private List<ProcessInfo> ProcessesOf(string containerId)
    {
        var list = new List<ProcessInfo>();
        foreach (var g in Kernel.ThreadGroups().Where(g => g.ContainerId == containerId))
        {
            var d = RunscNet.Sentry.Kernel.Kernel.Describe(g);
            string cmd = d.Argv.Count > 0 ? string.Join(' ', d.Argv) : d.Comm;
            long start = (g.StartTimestamp - Kernel.BootTimestamp) * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency;
            list.Add(new ProcessInfo(g.Tgid, g.ParentPid, d.Leader.Credentials.Uid, cmd, d.State.ToString(), start));
        }
        return list;
    }

    /// <inheritdoc/>
    public IReadOnlyList<UnimplementedCall> UnimplementedCalls()
    {
        var names = SyscallNames();
        return Kernel.Unimplemented.Snapshot()
            .Select(u => new UnimplementedCall(u.Program, (int)u.Number, names.TryGetValue((int)u.Number, out var n) ? n : $"syscall_{u.Number}", u.Count))
            .ToList();
    }

    /// <inheritdoc/>
    public IReadOnlyList<TaskStack> Stacks()
    {
        var names = SyscallNames();
        var list = new List<TaskStack>();
        foreach (var g in Kernel.ThreadGroups())
        {
            Task[] tasks;
            bool zombie, stopped;
            lock (Kernel.TaskLock)
            {
                tasks = g.Tasks.ToArray();
                zombie = g.Zombie;
                stopped = g.Stopped;
            }
            foreach (var t in tasks)
            {
                int nr = (int)t.CurrentSyscall;
                // In a call: the task thread serves it (blocked in it, or working); else in user code.
                string state = zombie || t.Exited ? "zombie" : stopped ? "stopped" : nr >= 0 ? "in-syscall" : t.IsRunningUserCode ? "running" : "sentry";
                list.Add(new TaskStack(t.Tid, g.Tgid, t.Name, state, nr, nr >= 0 && names.TryGetValue(nr, out var n) ? n : ""));
            }
        }
        return list.OrderBy(s => s.Tid).ToList();
    }

    private Dictionary<int, string> SyscallNames() => Kernel.Syscalls.Catalog().ToDictionary(e => e.Number, e => e.Name);

    /// <inheritdoc/>
    public int Exec(ExecRequest request)
    {
        if (Kernel.Init == null) throw new InvalidOperationException("the container is not running");
        return ExecIn(request, _spec.Process, "", null, _seccomp, null);
    }

    /// <summary>
    /// Runs the process <paramref name="request"/> describes as a member of container
    /// <paramref name="containerId"/> ("" the root one) under <paramref name="root"/> (null: the sandbox's).
    /// </summary>
    private int ExecIn(ExecRequest request, Process? specProcess, string containerId, VfsPath? root, Kernel.Seccomp.SeccompState seccomp,
        PidNamespace? pidNamespace)
    {
        if (request.Args.Count == 0) throw new InvalidOperationException("exec: no command given");
        var creds = CredentialsFor(request.Uid, request.Gid, request.AdditionalGids, specProcess);
        var t = Kernel.CreateOrphanProcess(creds, LimitsFor(specProcess), pidNamespace);
        t.ThreadGroup.ContainerId = containerId;
        t.Seccomp = seccomp;   // runc exec applies the container's profile too
        if (request.Terminal && request.StdioFds.Length > 0) DevptsFileSystem.Instance.Register(request.StdioFds[0]);
        SetUpFiles(t, request.StdioFds, request.Cwd, null, root);
        if (!request.Terminal)
            for (int i = 0; i < 3; i++)
                if (t.Fds.Get(i) is HostFileDescription stdio) stdio.ExecStdio = true;
        InstallPreserved(t, request.StdioFds.Skip(3).ToArray());
        // exec --tty: the process leads its own session, whose controlling terminal is its pty.
        if (request.Terminal && t.Fds.Get(0) is HostFileDescription { IsTty: true } tty) tty.MakeControllingTerminal(t.Pid, t.Pid);
        string path = ResolveCommand(t, request.Args[0], request.Env);
        int err = t.StartProcess(path, new List<string>(request.Args), new List<string>(request.Env));
        if (err < 0) throw new InvalidOperationException(Describe(-err, request.Args[0]));
        return t.Pid;
    }

    /// <inheritdoc/>
    public int Wait(int pid)
    {
        var g = pid == 0 ? Kernel.Init : Kernel.ThreadGroupByPid(pid);
        if (g == null) throw new InvalidOperationException($"no process {pid} in the sandbox");
        g.ExitedEvent.Wait();
        int status = g.ExitStatus;
        Kernel.Release(g);
        return status;
    }

    /// <inheritdoc/>
    public void KillProcess(int pid)
    {
        if (pid > 0 && Kernel.ThreadGroupByPid(pid) is { } g)
            Kernel.SendSignalToGroup(g, SignalInfo.FromUser(9, SignalInfo.SI_USER, 0, 0), SignalSource.Outside);
    }

    /// <inheritdoc/>
    public void Pause() => Kernel.PauseContainer("");

    /// <inheritdoc/>
    public void Resume() => Kernel.ResumeContainer("");

    /// <summary>Blocks until init has exited and returns its wait status.</summary>
    public int WaitForInit()
    {
        Kernel.InitExited.Wait();
        return Kernel.InitExitStatus;
    }
}
