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
/// create of a container that joins a running sandbox (a pod's containers after its root): no
/// new boot process; a gofer of its own, confined as the first one, whose socket end reaches the
/// Sentry over the control socket with the container's spec, stdio, exit record and the write
/// end of its waiter's pipe; and the waiter (<see cref="ContainerWaiter"/>), the container's pid:
/// it lives as long as the container's init and exits with its status, so callers that wait on
/// the container pid (conmon, containerd's shim) see this container's exit, not the sandbox's.
/// </summary>
public static class SandboxJoin
{
    /// <summary>Creates container <paramref name="options"/>.Id inside sandbox <paramref name="sandboxId"/>.</summary>
    public static Container Create(CreateOptions options, GlobalOptions global, BundleConfig bundle, string sandboxId)
    {
        ContainerState sandbox = LoadRunningSandbox(global.Root, sandboxId);
        CheckSharedNamespaces(bundle.Spec, sandbox, sandboxId);
        if (options.PreserveFds > 0)
            throw new RuntimeError($"--preserve-fds is not supported for a container joining sandbox {sandboxId}");
        var id = new FullId(sandboxId, options.Id);
        using var stateFile = new SF(global.Root, id);
        stateFile.LockForNew();
        var state = new ContainerState
        {
            Id = options.Id,
            SandboxId = sandboxId,
            Bundle = bundle.Directory,
            Rootfs = bundle.Rootfs,
            Status = ContainerStatus.Creating,
            CreatedAt = DateTimeOffset.UtcNow,
            Owner = Environment.UserName,
            Annotations = bundle.Spec.Annotations,
            ConsoleSocket = options.ConsoleSocket,
            ControlSocket = sandbox.ControlSocket,
            SandboxPid = sandbox.Pid,
            SandboxPidStartTime = sandbox.PidStartTime,
            Spec = bundle.Spec,
        };
        stateFile.SaveLocked(state);
        var control = new ControlClient(sandbox.ControlSocket, options.Id);
        bool joined = false;
        PseudoTerminal? pty = null;
        try
        {
            Dictionary<string, string>? membership = EnterCgroup(sandbox, bundle, global, options.Id, state);
            try
            {
                state.GoferPid = Sandbox.StartJoiningGofer(options.Id, bundle, global, out int sentryEnd);
                state.GoferStartTime = ProcessIdentity.StartTime(state.GoferPid) ?? 0;
                var owned = new List<FileDescriptor> { new(sentryEnd) };
                try
                {
                    // The Sentry records the init's status in the exit record and tells the waiter through the pipe.
                    string exitPath = stateFile.ExitPath;
                    int exitRecord = Interop.Processes.Open(exitPath, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC, 0x180);
                    if (exitRecord < 0) throw new RuntimeError($"creating the exit record {exitPath}: {Interop.Processes.LastError()}");
                    owned.Add(new FileDescriptor(exitRecord));
                    int statusRead, statusWrite;
                    unsafe
                    {
                        int* pipe = stackalloc int[2];
                        if (Interop.Processes.Pipe2(pipe, OpenFlags.O_CLOEXEC) < 0)
                            throw new RuntimeError($"creating the waiter's pipe: {Interop.Processes.LastError()}");
                        statusRead = pipe[0];
                        statusWrite = pipe[1];
                    }
                    owned.Add(new FileDescriptor(statusRead));
                    owned.Add(new FileDescriptor(statusWrite));
                    int[] stdio = [0, 1, 2];
                    bool terminal = bundle.Spec.Process!.Terminal;
                    if (terminal && options.ConsoleSocket != null)
                    {
                        pty = PseudoTerminal.Open(bundle.Spec.Process.ConsoleSize);
                        stdio = [pty.Slave, pty.Slave, pty.Slave];
                    }
                    else if (terminal)
                    {
                        stdio = [0, 0, 0];
                    }
                    var request = new ControlRequest
                    {
                        Operation = ControlOperation.CreateContainer,
                        ContainerId = options.Id,
                        SpecJson = System.Text.Encoding.UTF8.GetString(SpecFile.Serialize(bundle.Spec)),
                        Terminal = terminal,
                    };
                    control.Call(request, [sentryEnd, .. stdio, exitRecord, statusWrite], TimeSpan.FromMinutes(1));
                    joined = true;
                    pty?.SendMaster(options.ConsoleSocket!);
                    state.Pid = ContainerWaiter.Start(global.Root, options.Id, statusRead);
                    state.PidStartTime = ProcessIdentity.StartTime(state.Pid) ?? 0;
                }
                finally
                {
                    Sandbox.DisposeAll(owned);
                }
            }
            finally
            {
                if (membership != null) Cgroup.RestoreCallingThread(membership);
            }
            var created = Container.FromState(global.Root, id, state);
            var hooks = bundle.Spec.Hooks;
            HookRunner.Run("prestart", hooks?.Prestart, created.GetOciState());
            HookRunner.Run("createRuntime", hooks?.CreateRuntime, created.GetOciState());
            HookRunner.Run("createContainer", hooks?.CreateContainer, created.GetOciState());
            state.Status = ContainerStatus.Created;
            if (options.PidFile != null) PidFile.Write(options.PidFile, state.Pid);
            stateFile.SaveLocked(state);
        }
        catch
        {
            if (joined)
            {
                try { control.Call(new ControlRequest { Operation = ControlOperation.DestroyContainer, ContainerId = options.Id }, timeout: TimeSpan.FromSeconds(30)); }
                catch (RuntimeError e) { RuntimeLog.Warning($"container {options.Id}: removing it from sandbox {sandboxId}: {e.Message}"); }
            }
            Sandbox.Kill(state.Pid, state.PidStartTime, state.GoferPid, state.GoferStartTime);
            if (state.CgroupPath.Length > 0) Cgroup.FromState(state.CgroupPath, state.CgroupDirs).Destroy();
            stateFile.Destroy();
            throw;
        }
        finally
        {
            pty?.Dispose();
        }
        RuntimeLog.Debug($"container {options.Id} created in sandbox {sandboxId}: waiter pid {state.Pid}, gofer pid {state.GoferPid}");
        return Container.FromState(global.Root, id, state);
    }

    /// <summary>The state of sandbox <paramref name="sandboxId"/>'s root container, which must be created or running.</summary>
    private static ContainerState LoadRunningSandbox(string rootDir, string sandboxId)
    {
        ContainerState root;
        try
        {
            root = new SF(rootDir, new FullId(sandboxId, sandboxId)).Read();
        }
        catch (ContainerNotFoundException)
        {
            throw new RuntimeError($"cannot join sandbox {sandboxId}: no such sandbox");
        }
        catch (InvalidContainerIdException)
        {
            throw new RuntimeError($"cannot join sandbox {sandboxId}: invalid sandbox ID");
        }
        var status = Container.FromState(rootDir, new FullId(sandboxId, sandboxId), root).CurrentStatus();
        if (status is not (ContainerStatus.Created or ContainerStatus.Running))
            throw new RuntimeError($"cannot join sandbox {sandboxId}: it is {status.ToOciString()}");
        return root;
    }

    /// <summary>
    /// A joined container runs in the sandbox's kernel, so the network, IPC and UTS namespaces
    /// its spec names by path (containerd and podman write the pause/infra container's) must be
    /// the sandbox's, and a PID namespace path the sandbox's (shared) — no path means one of its
    /// own. Anything else would silently not be what the spec asks: a one-line error instead.
    /// </summary>
    private static void CheckSharedNamespaces(Spec spec, ContainerState sandbox, string sandboxId)
    {
        foreach (var ns in spec.Linux?.Namespaces ?? [])
        {
            string? proc = ns.Type switch { "network" => "net", "ipc" => "ipc", "uts" => "uts", "pid" => "pid", _ => null };
            if (proc == null || string.IsNullOrEmpty(ns.Path)) continue;
            if (!File.Exists(ns.Path))
                throw new RuntimeError($"cannot join sandbox {sandboxId}: linux.namespaces: {ns.Type} namespace {ns.Path} does not exist");
            if (!SysctlRules.SameNamespace(ns.Path, $"/proc/{sandbox.Pid}/ns/{proc}"))
                throw new RuntimeError($"cannot join sandbox {sandboxId}: linux.namespaces: {ns.Type} namespace {ns.Path} is not the sandbox's (its containers share one kernel)");
        }
    }

    /// <summary>
    /// Puts the calling thread in the container's own cgroup (its spec's cgroupsPath, made with its
    /// limits and recorded in <paramref name="state"/>, as runsc's per-container cgroups: the
    /// host enforces them on what runs there, the gofer and the waiter), or in the sandbox's when
    /// that path is the sandbox's or cannot be made, so the processes it starts are born there.
    /// Returns the membership to restore, or null when the thread did not move.
    /// </summary>
    private static Dictionary<string, string>? EnterCgroup(ContainerState sandbox, BundleConfig bundle, GlobalOptions global, string id, ContainerState state)
    {
        var resources = bundle.Spec.Linux?.Resources;
        string path = CgroupPath.Resolve(bundle.Spec.Linux?.CgroupsPath, global.SystemdCgroup, id);
        if (path != sandbox.CgroupPath)
        {
            var membership = Cgroup.MembershipOfCallingThread();
            Cgroup? cgroup = null;
            try
            {
                cgroup = Cgroup.Resolve(path);
                cgroup.Create(resources);
                state.CgroupPath = path;
                state.CgroupDirs = [.. cgroup.Directories];
                cgroup.AddCallingThread();
                return membership;
            }
            catch (Exception e) when (e is RuntimeError or IOException or UnauthorizedAccessException)
            {
                Cgroup.RestoreCallingThread(membership);
                cgroup?.Destroy();
                state.CgroupPath = "";
                state.CgroupDirs = null;
                if (resources != null && (resources.Memory != null || resources.Cpu != null || resources.Pids != null)) throw;
                RuntimeLog.Warning($"container {id}: no cgroup of its own ({e.Message})");
            }
        }
        if (string.IsNullOrEmpty(sandbox.CgroupPath)) return null;
        var before = Cgroup.MembershipOfCallingThread();
        try
        {
            Cgroup.FromState(sandbox.CgroupPath, sandbox.CgroupDirs).AddCallingThread();
            return before;
        }
        catch (Exception e) when (e is RuntimeError or IOException or UnauthorizedAccessException)
        {
            Cgroup.RestoreCallingThread(before);
            RuntimeLog.Warning($"joining the cgroup of sandbox {sandbox.Id}: {e.Message}");
            return null;
        }
    }
}
