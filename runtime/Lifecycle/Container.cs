using RunscNet.Runtime.Bundle;
using RunscNet.Runtime.Cgroups;
using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Control;
using RunscNet.Runtime.Logging;
using RunscNet.Sentry.Control;
using RunscNet.StateFile;
using RunscNet.StateFile.Oci;
using SF = RunscNet.StateFile.StateFile;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// A container and its lifecycle (create, start, state, kill, pause, resume, exec, wait, delete),
/// as a class the CLI and tests drive. Its persistent record is a <see cref="ContainerState"/> in a
/// locked state file; its sandbox is reached over the control socket.
/// </summary>
public sealed partial class Container
{
    private Container(string rootDir, FullId id, ContainerState state)
    {
        RootDir = Path.GetFullPath(rootDir);
        FullId = id;
        State = state;
    }

    /// <summary>The --root directory.</summary>
    public string RootDir { get; }

    /// <summary>Sandbox and container ID.</summary>
    public FullId FullId { get; }

    /// <summary>The container ID.</summary>
    public string Id => FullId.ContainerId;

    /// <summary>The state as last read from (or written to) the state file.</summary>
    public ContainerState State { get; private set; }

    /// <summary>
    /// Creates the container: validates the bundle, claims the ID (two racing creates: one wins),
    /// starts gofer and boot, writes --pid-file and records the state as created.
    /// </summary>
    public static Container Create(CreateOptions options, GlobalOptions global)
    {
        ContainerId.Validate(options.Id);
        BundleConfig bundle = BundleConfig.Load(options.BundleDir);
        bool terminal = bundle.Spec.Process!.Terminal;
        if (terminal && options.ConsoleSocket == null && !(options.CallerTerminal && PseudoTerminal.IsTerminal(0)))
            throw new RuntimeError("process.terminal is true but no --console-socket was given (set \"terminal\": false in config.json)");
        if (!terminal && options.ConsoleSocket != null)
            throw new RuntimeError("--console-socket was given but process.terminal is false in config.json");
        if (options.PreserveFds < 0) throw new RuntimeError("--preserve-fds must not be negative");
        for (int i = 0; i < options.PreserveFds; i++)
            if (!Interop.Processes.IsOpen(3 + i)) throw new RuntimeError($"--preserve-fds {options.PreserveFds}: fd {3 + i} is not open");

        // A pod's later containers join the sandbox of its first (CRI annotations).
        if (SandboxMembership.SandboxToJoin(options.Id, bundle.Spec.Annotations) is string sandboxId)
            return SandboxJoin.Create(options, global, bundle, sandboxId);

        var id = new FullId(options.Id, options.Id);
        using var stateFile = new SF(global.Root, id);
        stateFile.LockForNew();
        var state = new ContainerState
        {
            Id = options.Id,
            SandboxId = options.Id,
            Bundle = bundle.Directory,
            Rootfs = bundle.Rootfs,
            Status = ContainerStatus.Creating,
            CreatedAt = DateTimeOffset.UtcNow,
            Owner = Environment.UserName,
            Annotations = bundle.Spec.Annotations,
            ConsoleSocket = options.ConsoleSocket,
            ControlSocket = ControlSocketPath.For(global.Root, options.Id),
            Spec = bundle.Spec,
        };
        stateFile.SaveLocked(state);
        SandboxProcesses? processes = null;
        PseudoTerminal? pty = null;
        try
        {
            int consoleFd = -1;
            if (terminal && options.ConsoleSocket != null)
            {
                pty = PseudoTerminal.Open(bundle.Spec.Process.ConsoleSize);
                consoleFd = pty.Slave;
            }
            else if (terminal)
            {
                consoleFd = 0; // run -t in the foreground: the caller's terminal
            }
            processes = StartInCgroup(options.Id, bundle, global, consoleFd, state, options.PreserveFds);
            pty?.SendMaster(options.ConsoleSocket!);
            state.Pid = processes.BootPid;
            state.PidStartTime = processes.BootStartTime;
            state.GoferPid = processes.GoferPid;
            state.GoferStartTime = processes.GoferStartTime;
            state.ControlSocket = processes.ControlSocket;
            var created = new Container(global.Root, id, state);
            var hooks = bundle.Spec.Hooks;
            HookRunner.Run("prestart", hooks?.Prestart, created.GetOciState());
            HookRunner.Run("createRuntime", hooks?.CreateRuntime, created.GetOciState());
            HookRunner.Run("createContainer", hooks?.CreateContainer, created.GetOciState());
            state.Status = ContainerStatus.Created;
            if (options.PidFile != null) PidFile.Write(options.PidFile, processes.BootPid);
            stateFile.SaveLocked(state);
        }
        catch
        {
            if (processes != null)
                Sandbox.Kill(processes.BootPid, processes.BootStartTime, processes.GoferPid, processes.GoferStartTime);
            if (state.CgroupPath.Length > 0) Cgroup.FromState(state.CgroupPath, state.CgroupDirs).Destroy();
            try { File.Delete(state.ControlSocket); } catch (IOException) { }
            stateFile.Destroy();
            throw;
        }
        finally
        {
            pty?.Dispose();
        }
        RuntimeLog.Debug($"container {options.Id} created: sandbox pid {state.Pid}");
        return new Container(global.Root, id, state);
    }

    /// <summary>A handle on a container whose state the caller has just read or written.</summary>
    public static Container FromState(string rootDir, FullId id, ContainerState state) => new(rootDir, id, state);

    /// <summary>Loads the container <paramref name="id"/> names (an exact ID or a unique prefix).</summary>
    public static Container Load(string rootDir, string id)
    {
        FullId fullId = StateDirectory.Find(rootDir, id);
        var stateFile = new SF(rootDir, fullId);
        return new Container(rootDir, fullId, stateFile.Read());
    }

    /// <summary>The states of every container under <paramref name="rootDir"/> (unreadable ones are skipped with a warning).</summary>
    public static List<OciState> List(string rootDir)
    {
        var result = new List<OciState>();
        foreach (FullId id in StateDirectory.ListContainers(rootDir))
        {
            try
            {
                result.Add(new Container(rootDir, id, new SF(rootDir, id).Read()).GetOciState());
            }
            catch (ContainerNotFoundException)
            {
                // deleted while we listed
            }
            catch (StateFileException e)
            {
                RuntimeLog.Warning(e.Message);
            }
        }
        return result;
    }

    /// <summary>
    /// The status now: the recorded one, except that a container whose sandbox process is gone
    /// (or whose pid now belongs to another process) is stopped.
    /// </summary>
    public ContainerStatus CurrentStatus()
    {
        ContainerStatus recorded = State.Status;
        if (recorded == ContainerStatus.Stopped) return recorded;
        if (recorded == ContainerStatus.Creating && State.Pid == 0) return recorded;
        // A joined container also ends with its sandbox (its waiter may not have noticed yet).
        bool alive = ProcessIdentity.IsAlive(State.Pid, State.PidStartTime)
            && (State.IsSandboxRoot || ProcessIdentity.IsAlive(State.SandboxPid, State.SandboxPidStartTime));
        return alive ? recorded : ContainerStatus.Stopped;
    }

    /// <summary>The OCI state (what `state` prints).</summary>
    public OciState GetOciState()
    {
        ContainerStatus status = CurrentStatus();
        return new OciState
        {
            OciVersion = RuntimeVersion.OciSpecVersion,
            Id = Id,
            Status = status.ToOciString(),
            Pid = status == ContainerStatus.Stopped ? 0 : State.Pid,
            Bundle = State.Bundle,
            Annotations = State.Annotations ?? new(),
            Rootfs = State.Rootfs,
            Created = State.CreatedAt,
            Owner = State.Owner,
        };
    }

    /// <summary>Starts the container's program (created → running).</summary>
    public void Start()
    {
        using var stateFile = LockAndRefresh();
        ContainerStatus status = CurrentStatus();
        if (status != ContainerStatus.Created)
            throw new RuntimeError($"cannot start container {Id}: it is {status.ToOciString()}, not created");
        HookRunner.Run("startContainer", State.Spec?.Hooks?.StartContainer, GetOciState());
        Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Start }, timeout: TimeSpan.FromMinutes(1));
        State.Status = ContainerStatus.Running;
        stateFile.SaveLocked(State);
        HookRunner.Run("poststart", State.Spec?.Hooks?.Poststart, GetOciState(), warnOnly: true);
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to init, or with <paramref name="all"/> to every process; a
    /// SIGKILL to all also waits until the sandbox is gone.
    /// </summary>
    public void Signal(int signal, bool all)
    {
        ContainerStatus status = CurrentStatus();
        if (status == ContainerStatus.Stopped)
        {
            // runc's words: containerd's shim recognizes "container not running" as "process
            // already finished" (a kill racing the exit), anything else fails the pod's stop.
            if (!all) throw new RuntimeError($"cannot signal {Id}: container not running");
            // As runc's kill --all, which reaches what is left of a stopped container (containerd's
            // shim sends it when the init of a container sharing the pod's PID namespace ends):
            // a joined container's other processes may outlive its init while the sandbox lives.
            if (State.IsSandboxRoot || !ProcessIdentity.IsAlive(SandboxPid, SandboxPidStartTime)) return;
            try
            {
                Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Signal, Signal = signal, All = true },
                    timeout: TimeSpan.FromSeconds(30));
            }
            catch (RuntimeError e)
            {
                RuntimeLog.Debug($"kill --all of stopped container {Id}: {e.Message}");
            }
            return;
        }
        if (status == ContainerStatus.Created && TerminatesByDefault(signal) && State.IsSandboxRoot)
        {
            // No program runs yet to take the signal: it ends the container, i.e. the sandbox.
            using var stateFile = LockAndRefresh();
            Sandbox.Kill(State.Pid, State.PidStartTime, State.GoferPid, State.GoferStartTime);
            State.ExitStatus = WaitStatus.FromSignal(signal);
            stateFile.SaveLocked(State);
            return;
        }
        try
        {
            Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Signal, Signal = signal, All = all },
                timeout: TimeSpan.FromSeconds(30));
        }
        catch (SandboxUnreachableException) when (!ProcessIdentity.IsAlive(SandboxPid, SandboxPidStartTime)
            || Sandbox.WaitGone(SandboxPid, SandboxPidStartTime, TimeSpan.FromSeconds(1)))
        {
            // The signal ended the sandbox before it could answer.
        }
        if (all && signal == 9) Sandbox.WaitGone(State.Pid, State.PidStartTime, TimeSpan.FromSeconds(10));
    }

    /// <summary>True for signals whose default action ends a process (not CHLD, CONT, STOP, TSTP, TTIN, TTOU, URG, WINCH, 0).</summary>
    public static bool TerminatesByDefault(int signal) => signal is not (0 or 17 or 18 or 19 or 20 or 21 or 22 or 23 or 28);

    /// <summary>The container's processes (pids in the sandbox's PID namespace).</summary>
    public IReadOnlyList<ProcessInfo> Processes()
    {
        RequireSandbox("list the processes of");
        var response = Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Processes }, timeout: TimeSpan.FromSeconds(30));
        return response.Processes.Select(p => new ProcessInfo(p.Pid, p.PPid, p.Uid, p.Command, p.State, p.StartTimeTicks)).ToList();
    }

    /// <summary>The calls without a handler in the Sentry that each program made, with counts (`debug --unimplemented`).</summary>
    public IReadOnlyList<UnimplementedCall> UnimplementedCalls()
    {
        RequireSandbox("debug");
        var response = Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Unimplemented }, timeout: TimeSpan.FromSeconds(30));
        return response.Unimplemented.Select(u => new UnimplementedCall(u.Program, u.Number, u.Name, u.Count)).ToList();
    }

    /// <summary>Every task of the sandbox with its state and the system call it is in (`debug --stacks`).</summary>
    public IReadOnlyList<TaskStack> Stacks()
    {
        RequireSandbox("debug");
        var response = Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Stacks }, timeout: TimeSpan.FromSeconds(30));
        return response.Tasks.Select(t => new TaskStack(t.Tid, t.Pid, t.Name, t.State, t.SyscallPlusOne - 1, t.SyscallName)).ToList();
    }

    /// <summary>Runs a new process in the container; returns exec's exit code (the process's, unless detached).</summary>
    public int Exec(ExecOptions options)
    {
        ControlRequest request = ExecRequestBuilder.Build(options, State.Spec, out Box? consoleSize);
        request.ContainerId = JoinedId;
        bool terminal = request.Terminal;
        if (!terminal && options.ConsoleSocket != null)
            throw new RuntimeError("exec: --console-socket was given without --tty");
        if (terminal && options.ConsoleSocket == null && (options.Detach || !PseudoTerminal.IsTerminal(0)))
            throw new RuntimeError(options.Detach
                ? "exec: cannot allocate a terminal for a detached process without --console-socket"
                : "exec: --tty needs a terminal on stdin or a --console-socket");
        if (options.PreserveFds < 0) throw new RuntimeError("exec: --preserve-fds must not be negative");
        if (options.PreserveFds > Sentry.Control.ControlConnection.MaxFds - 3)
            throw new RuntimeError($"exec: --preserve-fds {options.PreserveFds}: at most {Sentry.Control.ControlConnection.MaxFds - 3} fds can be passed");
        int[] preserved = Enumerable.Range(3, options.PreserveFds).ToArray();
        foreach (int fd in preserved)
            if (!Interop.Processes.IsOpen(fd)) throw new RuntimeError($"exec: --preserve-fds {options.PreserveFds}: fd {fd} is not open");
        ContainerStatus status = CurrentStatus();
        if (status != ContainerStatus.Running)
            throw new RuntimeError($"cannot exec in container {Id}: it is {status.ToOciString()}, not running");
        ControlResponse response;
        if (terminal && options.ConsoleSocket != null)
        {
            // As runc: a new pty whose master goes to the caller, whose slave is the process's stdio.
            using var pty = PseudoTerminal.Open(consoleSize);
            pty.SendMaster(options.ConsoleSocket);
            response = Control().Call(request, [pty.Slave, pty.Slave, pty.Slave, .. preserved], TimeSpan.FromMinutes(1));
        }
        else
        {
            // Without a terminal: our stdio; with --tty in the foreground: the caller's terminal.
            response = Control().Call(request, terminal ? [0, 0, 0, .. preserved] : [0, 1, 2, .. preserved], TimeSpan.FromMinutes(1));
        }
        if (options.Detach)
        {
            // Callers like conmon wait on the pid in --pid-file for the exit status, so it must be
            // a host process that lives as long as the exec'd one and exits with its status: a
            // `wait --pid` of ours (as runsc does), detached from the caller's stdio. Killing it
            // kills the process (containerd's exec timeout kills that pid and waits for the stdio).
            if (options.PidFile != null) PidFile.Write(options.PidFile, StartExecWaiter(response.Pid));
            return 0;
        }
        if (options.PidFile != null) PidFile.Write(options.PidFile, response.Pid);
        return WaitStatus.ToExitCode(WaitProcess(response.Pid));
    }

    /// <summary>
    /// Waits for process <paramref name="pid"/> (a pid in the sandbox) to exit; returns its wait
    /// status. With <paramref name="killOnHangup"/> the Sentry SIGKILLs the process if this caller
    /// dies first (the waiter of a detached exec: killing it must kill the process).
    /// </summary>
    public int WaitProcess(int pid, bool killOnHangup = false, Action? sent = null)
    {
        RequireSandbox("wait for a process of");
        return Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Wait, Pid = pid, KillOnHangup = killOnHangup },
            sent: sent).WaitStatus;
    }

    /// <summary>
    /// Starts `runsc-net wait --kill-on-exit --pid PID ID` with stdio on /dev/null and returns its
    /// host pid once its request reached the Sentry (it closes fd 3 then), so killing it from
    /// then on kills the process.
    /// </summary>
    private unsafe int StartExecWaiter(int pid)
    {
        // FileShare.ReadWrite: .NET takes no flock then (any other default would clash with concurrent users).
        using var devNull = File.Open("/dev/null", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        int fd = (int)devNull.SafeFileHandle.DangerousGetHandle();
        int* ready = stackalloc int[2];
        if (Interop.Processes.Pipe2(ready, OpenFlags.O_CLOEXEC) < 0)
            throw new RuntimeError($"exec: creating the waiter's pipe: {Interop.Processes.LastError()}");
        using var readyRead = new FileDescriptor(ready[0]);
        using var readyWrite = new FileDescriptor(ready[1]);
        var waiter = new NamespacedProcess
        {
            Executable = RuntimeExecutable.Path,
            Arguments = ["runsc-net", "--root", RootDir, "wait", "--kill-on-exit",
                "--pid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--ready-fd", "3", Id],
            Fds = new Dictionary<int, int> { [0] = fd, [1] = fd, [2] = fd, [3] = readyWrite.Number },
            NewSession = true,
        };
        int waiterPid = waiter.Start();
        // Only the waiter holds the write end now: its exit or its close of fd 3 ends the poll.
        readyWrite.Dispose();
        // EOF once the waiter sent its request (or died); a stuck waiter costs at most 10 s.
        Interop.Processes.PollReadable(readyRead.Number, 10_000);
        return waiterPid;
    }

    /// <summary>Waits for the container's init to exit; returns its wait status (and records it).</summary>
    public int Wait()
    {
        if (CurrentStatus() == ContainerStatus.Stopped)
            return State.ExitStatus ?? throw new RuntimeError($"container {Id} has stopped and its exit status is unknown");
        int status;
        try
        {
            status = Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = ControlOperation.Wait, Pid = 0 }).WaitStatus;
        }
        catch (SandboxUnreachableException)
        {
            Sandbox.WaitGone(SandboxPid, SandboxPidStartTime, TimeSpan.FromSeconds(10));
            using var refreshed = LockAndRefresh();
            return State.ExitStatus ?? throw new RuntimeError($"container {Id}: the sandbox ended and the exit status is unknown");
        }
        using (var stateFile = LockAndRefresh())
        {
            State.ExitStatus = status;
            stateFile.SaveLocked(State);
        }
        return status;
    }

    /// <summary>
    /// Applies <paramref name="resources"/> to the sandbox's cgroup (created, running or paused
    /// containers, as runc) and records them in the state's spec, so later readers see them.
    /// </summary>
    public void Update(Resources resources)
    {
        ContainerStatus status = CurrentStatus();
        if (status is not (ContainerStatus.Created or ContainerStatus.Running or ContainerStatus.Paused))
            throw new RuntimeError($"cannot update container {Id}: it is {status.ToOciString()}");
        if (State.CgroupPath.Length == 0) throw new RuntimeError($"cannot update container {Id}: it has no cgroup");
        Cgroup.FromState(State.CgroupPath, State.CgroupDirs).Apply(resources);
        using var stateFile = LockAndRefresh();
        if (State.Spec?.Linux is { } linux)
        {
            var current = linux.Resources ??= new Resources();
            if (resources.Memory != null) current.Memory = Merge(current.Memory, resources.Memory);
            if (resources.Cpu != null) current.Cpu = Merge(current.Cpu, resources.Cpu);
            if (resources.Pids != null) current.Pids = resources.Pids;
            if (resources.BlockIO != null) current.BlockIO = resources.BlockIO;
            if (resources.HugepageLimits != null) current.HugepageLimits = resources.HugepageLimits;
            if (resources.Network != null) current.Network = resources.Network;
            if (resources.Rdma != null) current.Rdma = resources.Rdma;
            if (resources.Unified != null) current.Unified = resources.Unified;
        }
        stateFile.SaveLocked(State);
    }

    private static MemoryResources Merge(MemoryResources? old, MemoryResources update) => new()
    {
        Limit = update.Limit ?? old?.Limit,
        Reservation = update.Reservation ?? old?.Reservation,
        Swap = update.Swap ?? old?.Swap,
        Kernel = update.Kernel ?? old?.Kernel,
        KernelTcp = update.KernelTcp ?? old?.KernelTcp,
        Swappiness = update.Swappiness ?? old?.Swappiness,
        DisableOomKiller = update.DisableOomKiller ?? old?.DisableOomKiller,
        UseHierarchy = update.UseHierarchy ?? old?.UseHierarchy,
        CheckBeforeUpdate = update.CheckBeforeUpdate ?? old?.CheckBeforeUpdate,
    };

    private static CpuResources Merge(CpuResources? old, CpuResources update) => new()
    {
        Shares = update.Shares ?? old?.Shares,
        Quota = update.Quota ?? old?.Quota,
        Period = update.Period ?? old?.Period,
        Cpus = update.Cpus ?? old?.Cpus,
        Mems = update.Mems ?? old?.Mems,
        Burst = update.Burst ?? old?.Burst,
        RealtimeRuntime = update.RealtimeRuntime ?? old?.RealtimeRuntime,
        RealtimePeriod = update.RealtimePeriod ?? old?.RealtimePeriod,
        Idle = update.Idle ?? old?.Idle,
    };

    /// <summary>Stops every task of the container (running → paused).</summary>
    public void Pause() => Transition(ContainerStatus.Running, ControlOperation.Pause, ContainerStatus.Paused, "pause");

    /// <summary>Continues a paused container (paused → running).</summary>
    public void Resume() => Transition(ContainerStatus.Paused, ControlOperation.Resume, ContainerStatus.Running, "resume");

    /// <summary>
    /// Deletes the container <paramref name="id"/> names: kills its sandbox and gofer, removes its
    /// control socket and state. Without <paramref name="force"/> a running or paused container is
    /// refused. With it, works on dead processes, half-written or corrupt state, and on an ID that
    /// no longer exists (a no-op, as in runc).
    /// </summary>
    public static void Delete(string rootDir, string id, bool force)
    {
        FullId fullId;
        try
        {
            fullId = StateDirectory.Find(rootDir, id, includeOrphanLocks: force);
        }
        catch (ContainerNotFoundException) when (force)
        {
            return;
        }
        using var stateFile = new SF(rootDir, fullId);
        stateFile.Lock();
        ContainerState? state = null;
        try
        {
            state = stateFile.Read();
        }
        catch (ContainerNotFoundException) when (force)
        {
        }
        catch (StateFileException e) when (force)
        {
            RuntimeLog.Warning($"{e.Message}; removing it");
        }
        string? controlSocket = fullId.IsSandboxRoot ? ControlSocketPath.For(rootDir, fullId.ContainerId) : null;
        if (state != null)
        {
            var container = new Container(rootDir, fullId, state);
            ContainerStatus status = container.CurrentStatus();
            if (!force && status is ContainerStatus.Running or ContainerStatus.Paused)
                throw new RuntimeError($"cannot delete container {fullId.ContainerId}: it is {status.ToOciString()} (stop it first or use --force)");
            if (!fullId.IsSandboxRoot) container.LeaveSandbox();
            Sandbox.Kill(state.Pid, state.PidStartTime, state.GoferPid, state.GoferStartTime);
        }
        // The root container's end is the sandbox's: the other containers go with it (their
        // processes died with the Sentry; their gofers, waiters and state files go now).
        if (fullId.IsSandboxRoot)
            foreach (FullId other in StateDirectory.ListSandboxContainers(rootDir, fullId.SandboxId).Where(o => !o.IsSandboxRoot))
                Delete(rootDir, other.ContainerId, force: true);
        if (state != null)
        {
            if (!string.IsNullOrEmpty(state.CgroupPath)) Cgroup.FromState(state.CgroupPath, state.CgroupDirs).Destroy();
            if (fullId.IsSandboxRoot && !string.IsNullOrEmpty(state.ControlSocket)) controlSocket = state.ControlSocket;
        }
        if (controlSocket != null) try { File.Delete(controlSocket); } catch (IOException) { }
        stateFile.Destroy();
        if (state?.Spec?.Hooks?.Poststop is { Count: > 0 } poststop)
        {
            var stopped = new Container(rootDir, fullId, state).GetOciState();
            stopped.Status = "stopped";
            stopped.Pid = 0;
            HookRunner.Run("poststop", poststop, stopped, warnOnly: true);
        }
    }

    /// <summary>
    /// Takes a joined container out of its sandbox: the Sentry kills its processes and drops its
    /// mounts and gofer connection. Nothing to do when the sandbox is gone.
    /// </summary>
    private void LeaveSandbox()
    {
        if (!ProcessIdentity.IsAlive(State.SandboxPid, State.SandboxPidStartTime)) return;
        try
        {
            Control().Call(new ControlRequest { ContainerId = Id, Operation = ControlOperation.DestroyContainer }, timeout: TimeSpan.FromSeconds(30));
        }
        catch (SandboxUnreachableException)
        {
            // The sandbox ended meanwhile.
        }
    }

    /// <summary>The sandbox's cgroup usage (events --stats).</summary>
    public CgroupStats Stats()
    {
        RequireSandbox("read the statistics of");
        if (State.CgroupPath.Length == 0) throw new RuntimeError($"container {Id} has no cgroup");
        return Cgroup.FromState(State.CgroupPath, State.CgroupDirs).Stats();
    }

    /// <summary>
    /// Starts the sandbox inside its cgroup: this thread joins the cgroup first so gofer and boot,
    /// which it clones, are born in it (nothing escapes the limits), then moves back once both are
    /// started. Everything between runs on this thread (no await).
    /// </summary>
    private static SandboxProcesses StartInCgroup(string id, BundleConfig bundle, GlobalOptions global, int consoleFd, ContainerState state, int preserveFds)
    {
        var resources = bundle.Spec.Linux?.Resources;
        bool limits = resources != null && (resources.Memory != null || resources.Cpu != null || resources.Pids != null
            || resources.BlockIO != null || resources.HugepageLimits is { Count: > 0 } || resources.Network != null
            || resources.Rdma is { Count: > 0 } || resources.Unified is { Count: > 0 });
        string path = Cgroups.CgroupPath.Resolve(bundle.Spec.Linux?.CgroupsPath, global.SystemdCgroup, id);
        Dictionary<string, string>? membership = null;
        Cgroup? cgroup = null;
        try
        {
            cgroup = Cgroup.Resolve(path);
            membership = Cgroup.MembershipOfCallingThread();
            cgroup.Create(resources);
            state.CgroupPath = path;
            state.CgroupDirs = [.. cgroup.Directories];
            cgroup.AddCallingThread();
        }
        catch (Exception e) when (e is RuntimeError or IOException or UnauthorizedAccessException)
        {
            // Undo a partial join and creation; without limits to enforce, run without a cgroup.
            if (membership != null) Cgroup.RestoreCallingThread(membership);
            cgroup?.Destroy();
            state.CgroupPath = "";
            state.CgroupDirs = null;
            membership = null;
            if (limits) throw;
            RuntimeLog.Warning($"container {id}: no cgroup ({e.Message})");
        }
        // Back out as soon as both children exist: they were born in the cgroup (on cgroup v2 the
        // migration right after the first one also skips the RCU grace period a later one waits for).
        void Leave()
        {
            if (membership == null) return;
            var back = membership;
            membership = null;
            Cgroup.RestoreCallingThread(back);
        }
        try
        {
            return Sandbox.Start(id, bundle, global, consoleFd, preserveFds, spawned: Leave);
        }
        finally
        {
            Leave();
        }
    }

    private void Transition(ContainerStatus from, ControlOperation operation, ContainerStatus to, string verb)
    {
        using var stateFile = LockAndRefresh();
        ContainerStatus status = CurrentStatus();
        if (status != from)
            throw new RuntimeError($"cannot {verb} container {Id}: it is {status.ToOciString()}, not {from.ToOciString()}");
        Control().Call(new ControlRequest { ContainerId = JoinedId, Operation = operation }, timeout: TimeSpan.FromSeconds(30));
        State.Status = to;
        stateFile.SaveLocked(State);
    }

    private void RequireSandbox(string what)
    {
        ContainerStatus status = CurrentStatus();
        if (status is ContainerStatus.Stopped or ContainerStatus.Creating)
            throw new RuntimeError($"cannot {what} container {Id}: it is {status.ToOciString()}");
    }

    private SF LockAndRefresh()
    {
        var stateFile = new SF(RootDir, FullId);
        stateFile.Lock();
        try
        {
            State = stateFile.Read();
        }
        catch
        {
            stateFile.Dispose();
            throw;
        }
        return stateFile;
    }

    private ControlClient Control() => new(State.ControlSocket, Id);

    /// <summary>The ID control requests name this container by: empty for the sandbox's root container.</summary>
    private string JoinedId => State.IsSandboxRoot ? "" : Id;

    /// <summary>Host pid of the sandbox (boot) process this container runs in.</summary>
    private int SandboxPid => State.IsSandboxRoot ? State.Pid : State.SandboxPid;

    private ulong SandboxPidStartTime => State.IsSandboxRoot ? State.PidStartTime : State.SandboxPidStartTime;
}
