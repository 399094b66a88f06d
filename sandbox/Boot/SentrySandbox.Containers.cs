using RunscNet.Gofer;
using RunscNet.Sentry.Control;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// Containers that join the sandbox after its root container (pods): each has its own mount
/// table and init in the shared kernel. PIDs are the sandbox's (one PID namespace shared by the
/// pod); network, IPC, UTS are the sandbox's too.
/// </summary>
internal sealed partial class SentrySandbox : ISubcontainerControl
{
    /// <summary>At most this many containers join one sandbox (the control peer is trusted, but bounded anyway).</summary>
    public const int MaxJoinedContainers = 128;

    private readonly Dictionary<string, JoinedContainer> _joined = new();

    /// <summary>--overlay=memory applies to every container of the sandbox.</summary>
    private bool _memoryOverlay;

    /// <inheritdoc/>
    public void CreateContainer(string id, Spec spec, int goferFd, int[] stdio, bool terminal, int exitRecordFd, int notifyFd)
    {
        // Ours until handed on (to the gofer client, to the container); closed on any failure.
        using var ownedNotify = new FileDescriptor(notifyFd);
        using var ownedExitRecord = new FileDescriptor(exitRecordFd);
        using var ownedGofer = new FileDescriptor(goferFd);
        GoferClient? gofer = null;
        try
        {
            if (!IsRegularFile(exitRecordFd) || !IsPipe(notifyFd)) throw new InvalidOperationException("create container: the exit record or the waiter's pipe is not what it should be");
            if (spec.Process?.Args is not { Count: > 0 }) throw new InvalidOperationException("the spec's process has no args");
            if (stdio.Length != 3) throw new InvalidOperationException("create container: expected 3 stdio fds");
            lock (_joined)
            {
                if (_joined.ContainsKey(id)) throw new InvalidOperationException($"container {id} is already in the sandbox");
                if (_joined.Count >= MaxJoinedContainers) throw new InvalidOperationException($"the sandbox already holds {MaxJoinedContainers} containers");
            }
            gofer = new GoferClient(ownedGofer.Number);
            ownedGofer.Release();
            int err = Kernel.Vfs.MountJoinedContainer(spec, gofer, _memoryOverlay, out var root);
            if (err < 0) throw new InvalidOperationException(Kernel.Vfs.MountFailure ?? $"mounting the container's root through its gofer: errno {-err}");
            int[] own = stdio.Select(fd => Fcntl.Dup(fd)).ToArray();
            if (terminal && own[0] >= 0) DevptsFileSystem.Instance.Register(own[0]);
            var container = new JoinedContainer(id, spec, gofer, root!, own, terminal, exitRecordFd, notifyFd, Kernel.Log);
            ownedExitRecord.Release();
            ownedNotify.Release();
            lock (_joined)
            {
                if (!_joined.TryAdd(id, container))
                {
                    Kernel.Vfs.DropMountTree(root!);
                    container.ReleaseStdio();
                    throw new InvalidOperationException($"container {id} is already in the sandbox");
                }
            }
            gofer = null;
            Kernel.Log.Write($"container {id} joined the sandbox");
        }
        finally
        {
            gofer?.Dispose();
        }
    }

    private static unsafe bool IsRegularFile(int fd) => FileType(fd) == 0x8000;

    private static unsafe bool IsPipe(int fd) => FileType(fd) == 0x1000;

    private static unsafe uint FileType(int fd)
    {
        LinuxStat st;
        return fd >= 0 && HostFiles.fstat(fd, &st) == 0 ? st.Mode & 0xf000 : 0;
    }

    private JoinedContainer Joined(string id)
    {
        lock (_joined)
            return _joined.TryGetValue(id, out var c) ? c : throw new InvalidOperationException($"no container {id} in the sandbox");
    }

    /// <inheritdoc/>
    public void Start(string id)
    {
        var c = Joined(id);
        lock (c)
        {
            if (c.Started) throw new InvalidOperationException($"container {id} was already started");
            c.Started = true;
        }
        var p = c.Spec.Process!;
        var creds = CredentialsFor(p.User.Uid, p.User.Gid, p.User.AdditionalGids, p);
        var t = Kernel.CreateOrphanProcess(creds, LimitsFor(p), c.PidNamespace);
        var g = t.ThreadGroup;
        g.ContainerId = id;
        g.IsNamespaceInit = c.PidNamespace != null;
        if (c.PidNamespace != null) c.PidNamespace.Init = g;
        t.NoNewPrivileges = p.NoNewPrivileges;
        t.Seccomp = c.Seccomp;
        g.OomScoreAdj = g.OomScoreAdjMin = p.OomScoreAdj ?? 0;
        SetUpFiles(t, c.Stdio, p.Cwd, p.User.Umask, new VfsPath(c.Root, c.Root.Root));
        if (c.Terminal && t.Fds.Get(0) is HostFileDescription { IsTty: true } tty) tty.MakeControllingTerminal(t.Pid, t.Pid);
        var env = p.Env ?? new List<string>();
        string path = ResolveCommand(t, p.Args![0], env);
        c.Init = g;
        int err = t.StartProcess(path, new List<string>(p.Args), new List<string>(env));
        if (err < 0)
        {
            c.MarkExited(WaitStatus.Exited(127));
            throw new InvalidOperationException(Describe(-err, p.Args[0]));
        }
        // The container's init has no parent in the sandbox: collect it here, so its status is
        // the container's and its zombie does not linger.
        new Thread(() =>
        {
            g.ExitedEvent.Wait();
            int status = g.ExitStatus;
            Kernel.Release(g);
            c.ReleaseStdio();
            // As on Linux, when a PID namespace's init ends, every other process in it is killed.
            if (c.PidNamespace is { } ns)
                foreach (var other in Kernel.ThreadGroups().Where(o => o.PidNamespace == ns && !o.Zombie))
                    Kernel.SendSignalToGroup(other, SignalInfo.FromUser(9, SignalInfo.SI_USER, 0, 0), SignalSource.Outside);
            c.MarkExited(status);
            Kernel.Log.Write($"container {id}: init exited with wait status 0x{status:x}");
        }) { IsBackground = true, Name = "container-init-wait" }.Start();
    }

    /// <inheritdoc/>
    public void Signal(string id, int signal, bool all)
    {
        if (!RunscNet.Sentry.Kernel.Signal.IsValid(signal)) throw new InvalidOperationException($"invalid signal {signal}");
        var c = Joined(id);
        var info = SignalInfo.FromUser(signal, SignalInfo.SI_USER, 0, 0);
        if (all)
        {
            foreach (var g in GroupsOf(id)) Kernel.SendSignalToGroup(g, info, SignalSource.Outside);
        }
        else if (c.Init is { } init)
        {
            Kernel.SendSignalToGroup(init, info, SignalSource.Outside);
            return;
        }
        if (c.Init == null)
        {
            // Created, not started: a fatal signal ends the container before its init runs.
            var action = RunscNet.Sentry.Kernel.Signal.DefaultActionOf(signal);
            if (action is DefaultAction.Terminate or DefaultAction.CoreDump)
            {
                lock (c) c.Started = true;
                c.MarkExited(WaitStatus.Signaled(signal, false));
            }
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessInfo> Processes(string id)
    {
        Joined(id);
        return ProcessesOf(id);
    }

    /// <inheritdoc/>
    public int Exec(string id, ExecRequest request)
    {
        var c = Joined(id);
        if (c.Init == null || c.Exited.IsSet) throw new InvalidOperationException($"container {id} is not running");
        return ExecIn(request, c.Spec.Process, id, new VfsPath(c.Root, c.Root.Root), c.Seccomp, c.PidNamespace);
    }

    /// <inheritdoc/>
    public int Wait(string id, int pid)
    {
        var c = Joined(id);
        if (pid == 0)
        {
            c.Exited.Wait();
            return c.ExitStatus;
        }
        var g = Kernel.ThreadGroupByPid(pid);
        if (g == null || g.ContainerId != id) throw new InvalidOperationException($"no process {pid} in container {id}");
        g.ExitedEvent.Wait();
        int status = g.ExitStatus;
        Kernel.Release(g);
        return status;
    }

    /// <inheritdoc/>
    public void Pause(string id) => Kernel.PauseContainer(Joined(id).Id);

    /// <inheritdoc/>
    public void Resume(string id) => Kernel.ResumeContainer(Joined(id).Id);

    /// <inheritdoc/>
    public void DestroyContainer(string id)
    {
        JoinedContainer c;
        lock (_joined)
        {
            if (!_joined.Remove(id, out c!)) return; // already gone: delete is idempotent
        }
        var groups = GroupsOf(id);
        foreach (var g in groups) Kernel.SendSignalToGroup(g, SignalInfo.FromKernel(RunscNet.Sentry.Kernel.Signal.SIGKILL), SignalSource.Outside);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        foreach (var g in groups)
        {
            var left = deadline - DateTime.UtcNow;
            if (left > TimeSpan.Zero) g.ExitedEvent.Wait(left);
            Kernel.Release(g);
        }
        c.MarkExited(WaitStatus.Signaled(RunscNet.Sentry.Kernel.Signal.SIGKILL, false));
        Kernel.ResumeContainer(id);
        Kernel.Vfs.DropMountTree(c.Root);
        c.Gofer.Dispose();
        c.ReleaseStdio();
        Kernel.Log.Write($"container {id} left the sandbox");
    }

    private List<ThreadGroup> GroupsOf(string id) => Kernel.ThreadGroups().Where(g => g.ContainerId == id).ToList();
}
