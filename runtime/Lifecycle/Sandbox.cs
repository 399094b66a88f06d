using System.Runtime.InteropServices;
using RunscNet.Runtime.Bundle;
using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Control;
using RunscNet.Runtime.Interop;
using RunscNet.Runtime.Logging;
using RunscNet.Sentry.Control;
using RunscNet.StateFile.Oci;
using Tmds.Linux;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>The host processes of a started sandbox.</summary>
/// <param name="BootPid">Host pid of the boot (Sentry) process: the container pid.</param>
/// <param name="BootStartTime">Its start time (/proc/PID/stat field 22).</param>
/// <param name="GoferPid">Host pid of the container's gofer.</param>
/// <param name="GoferStartTime">Its start time.</param>
/// <param name="ControlSocket">Path of the control socket boot serves.</param>
public sealed record SandboxProcesses(int BootPid, ulong BootStartTime, int GoferPid, ulong GoferStartTime, string ControlSocket);

/// <summary>
/// Starting and stopping the processes of one sandbox: the gofer (own mount namespace, serves the
/// container's files on one end of a SOCK_SEQPACKET pair) and boot (the Sentry: new pid, uts,
/// ipc, mount and network namespaces, holding the other end, the control listener and stdio).
/// </summary>
public static class Sandbox
{
    /// <summary>How long create waits for boot to answer its first control request.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    // fd numbers in the children.
    private const int SpecFd = 3, ControlFd = 4, GoferSocketFd = 5, ConsoleFd = 6, ExitFd = 7, LogFd = 8, DebugLogFd = 9, PreservedFdBase = 10;

    /// <summary>
    /// The host uid and gid boot (and so every stub) runs as: root of the sandbox's user namespace
    /// is this one id of the host ("nobody", the overflow id, which owns no file on a sane host).
    /// </summary>
    public const uint SandboxUid = 65534, SandboxGid = 65534;

    /// <summary>
    /// Starts gofer and boot for container <paramref name="containerId"/> and waits until boot
    /// serves its control socket. On failure nothing is left running. <paramref name="consoleFd"/>
    /// (our fd of the container's terminal, or -1) reaches boot as fd 6 (--console-fd).
    /// <paramref name="spawned"/> runs once both processes exist, before the wait for boot.
    /// </summary>
    public static unsafe SandboxProcesses Start(string containerId, BundleConfig bundle, GlobalOptions global, int consoleFd = -1, int preserveFds = 0,
        Action? spawned = null)
    {
        Spec spec = bundle.Spec;
        string controlPath = ControlSocketPath.For(global.Root, containerId);
        var ownFds = new List<FileDescriptor>();
        int goferPid = 0, bootPid = 0;
        SandboxNamespaces.Validate(spec);
        SysctlRules.Validate(spec, global);
        try
        {
            int specFd = Own(ownFds, WriteSpecMemfd(spec, bundle.Rootfs));

            int* pair = stackalloc int[2];
            if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, pair) < 0)
                throw new RuntimeError($"creating the gofer socket pair: {Processes.LastError()}");
            Own(ownFds, pair[0]);
            Own(ownFds, pair[1]);

            int listener = Own(ownFds, Listen(controlPath));

            int devNull = Processes.Open("/dev/null", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
            if (devNull < 0) throw new RuntimeError($"opening /dev/null: {Processes.LastError()}");
            Own(ownFds, devNull);

            string exe = RuntimeExecutable.Path;

            var sandboxEnvironment = SandboxProcessEnvironment.Build();
            goferPid = SpawnGofer(containerId, bundle, global, sandboxEnvironment, devNull, specFd, pair[0]);

            var (flags, joins) = SandboxNamespaces.ForBoot(spec, global);
            ownFds.AddRange(joins.Select(j => new FileDescriptor(j.Fd)));
            foreach (var (fd, type) in joins)
                if (type == Processes.CLONE_NEWNET)
                {
                    NetworkNamespaceSetup.AllowPrivilegedPorts(fd);
                    NetworkNamespaceSetup.ApplySysctls(fd, spec);
                }
                else if (type == Processes.CLONE_NEWUTS) SandboxNamespaces.SetHostname(fd, spec.Hostname);
            var bootFds = new Dictionary<int, int> { [SpecFd] = specFd, [ControlFd] = listener, [GoferSocketFd] = pair[1] };
            // Boot runs unprivileged and keeps no directory of ours: every file it writes is opened here.
            var bootFiles = BootFiles.Open(containerId, global, ownFds);
            bootFds[ExitFd] = bootFiles.ExitRecord;
            if (bootFiles.Log >= 0) bootFds[LogFd] = bootFiles.Log;
            if (bootFiles.DebugLog >= 0) bootFds[DebugLogFd] = bootFiles.DebugLog;
            List<string> bootArgs = ["runsc-net", .. BootFiles.GlobalArguments(global, LogFd, DebugLogFd), "boot", "--container-id", containerId,
                "--bundle", bundle.Directory, "--spec-fd", SpecFd.ToString(), "--control-fd", ControlFd.ToString(), "--gofer-fd", GoferSocketFd.ToString(),
                "--exit-fd", ExitFd.ToString()];
            if (consoleFd >= 0)
            {
                bootFds[ConsoleFd] = consoleFd;
                bootArgs.AddRange(["--console-fd", ConsoleFd.ToString()]);
            }
            // --preserve-fds: our fds 3.. reach boot from 10 up (past its own), init gets them as 3...
            for (int i = 0; i < preserveFds; i++) bootFds[PreservedFdBase + i] = 3 + i;
            if (preserveFds > 0) bootArgs.AddRange(["--preserved-fds", preserveFds.ToString()]);
            var boot = new NamespacedProcess
            {
                Executable = exe,
                Arguments = bootArgs,
                NamespaceFlags = flags,
                JoinNamespaces = joins,
                Fds = bootFds,
                Environment = sandboxEnvironment,
                // With the caller's terminal (run -t) boot stays in the caller's session and
                // foreground process group, so the terminal's signals and job control reach it.
                NewSession = consoleFd != 0,
                CapabilityBoundingSet = SentryCapabilities,
                UserNamespaceRoot = (SandboxUid, SandboxGid),
            };
            bootPid = boot.Start();
            RuntimeLog.Debug($"boot started: pid {bootPid}, namespaces 0x{flags:x}");
            // process.oomScoreAdj: the host's OOM killer weighs the sandbox's processes (boot and
            // the stubs it forks, which hold the application's memory) as runc's init.
            if (spec.Process?.OomScoreAdj is int oom) OomScore.Set(bootPid, oom);
            spawned?.Invoke();

            // Only the children hold the listener and the socket ends now: if boot dies, the
            // ready check below sees the connection refused or reset instead of hanging.
            DisposeAll(ownFds);

            WaitUntilReady(containerId, controlPath, bootPid);
            ulong bootStart = ProcessIdentity.StartTime(bootPid) ?? throw new RuntimeError($"sandbox process {bootPid} vanished during create");
            ulong goferStart = ProcessIdentity.StartTime(goferPid) ?? 0;
            return new SandboxProcesses(bootPid, bootStart, goferPid, goferStart, controlPath);
        }
        catch
        {
            DisposeAll(ownFds);
            KillAndReap(bootPid);
            KillAndReap(goferPid);
            try { File.Delete(controlPath); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>
    /// Starts the gofer of a container that joins a running sandbox, confined as the first
    /// container's (own mount and pid namespaces, the same capabilities and seccomp filter).
    /// Returns its pid and, in <paramref name="sentryEnd"/>, our end of its socket, which the
    /// caller hands to the Sentry over the control socket and then closes.
    /// </summary>
    public static unsafe int StartJoiningGofer(string containerId, BundleConfig bundle, GlobalOptions global, out int sentryEnd)
    {
        sentryEnd = -1;
        using var specFd = new FileDescriptor(WriteSpecMemfd(bundle.Spec, bundle.Rootfs));
        int* pair = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, pair) < 0)
            throw new RuntimeError($"creating the gofer socket pair: {Processes.LastError()}");
        using var goferEnd = new FileDescriptor(pair[0]);
        using var ourEnd = new FileDescriptor(pair[1]);
        using var devNull = new FileDescriptor(Processes.Open("/dev/null", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0));
        if (devNull.IsInvalid) throw new RuntimeError($"opening /dev/null: {Processes.LastError()}");
        int pid = SpawnGofer(containerId, bundle, global, SandboxProcessEnvironment.Build(), devNull.Number, specFd.Number, goferEnd.Number);
        // The caller owns our end from here: it sends it to the Sentry, then closes it.
        sentryEnd = ourEnd.Release();
        return pid;
    }

    /// <summary>Takes ownership of <paramref name="fd"/> into <paramref name="owned"/> and returns its number.</summary>
    private static int Own(List<FileDescriptor> owned, int fd)
    {
        owned.Add(new FileDescriptor(fd));
        return fd;
    }

    /// <summary>Closes every fd of <paramref name="owned"/> (in order) and empties it.</summary>
    internal static void DisposeAll(List<FileDescriptor> owned)
    {
        foreach (var fd in owned) fd.Dispose();
        owned.Clear();
    }

    private static int SpawnGofer(string containerId, BundleConfig bundle, GlobalOptions global, IReadOnlyList<string> environment,
        int devNull, int specFd, int goferEnd)
    {
        var gofer = new NamespacedProcess
        {
            Executable = RuntimeExecutable.Path,
            Arguments = ["runsc-net", .. global.ToArguments(), "gofer", "--container-id", containerId, "--bundle", bundle.Directory,
                "--spec-fd", SpecFd.ToString(), "--socket-fd", "4"],
            // Own pid namespace: the gofer sees and can signal no host process (its procfs
            // shows only itself; see GoferProcess).
            NamespaceFlags = Processes.CLONE_NEWNS | Processes.CLONE_NEWPID,
            CapabilityBoundingSet = GoferSetupCapabilities,
            Environment = environment,
            // stderr stays the caller's, so a failed setup is seen; stdin and stdout are not the gofer's business.
            Fds = new Dictionary<int, int> { [0] = devNull, [1] = devNull, [SpecFd] = specFd, [4] = goferEnd },
        };
        int pid = gofer.Start();
        RuntimeLog.Debug($"gofer started: pid {pid}");
        return pid;
    }

    /// <summary>
    /// Kills the sandbox processes of <paramref name="processes"/> (each only if it is still the
    /// process we started) and waits until they are gone.
    /// </summary>
    public static void Kill(int bootPid, ulong bootStartTime, int goferPid, ulong goferStartTime)
    {
        foreach (var (pid, start) in new[] { (bootPid, bootStartTime), (goferPid, goferStartTime) })
        {
            if (ProcessIdentity.IsAlive(pid, start)) Processes.Kill(pid, 9);
        }
        foreach (var (pid, start) in new[] { (bootPid, bootStartTime), (goferPid, goferStartTime) })
            WaitGone(pid, start, TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Waits until <paramref name="pid"/> is gone or a zombie (reaping it if it is our child: a
    /// zombie still holds its cgroup), up to <paramref name="limit"/>. Sleeps on a pidfd, which
    /// becomes readable when the process exits.
    /// </summary>
    public static bool WaitGone(int pid, ulong startTime, TimeSpan limit)
    {
        if (pid <= 0) return true;
        var deadline = DateTime.UtcNow + limit;
        using var pidfd = new FileDescriptor(Processes.PidfdOpen(pid));
        while (true)
        {
            if (!ProcessIdentity.IsAlive(pid, startTime))
            {
                Processes.WaitPid(pid, out _, Processes.WNOHANG | Processes.__WALL); // reaps our own children
                return true;
            }
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return false;
            // Should the pid have been reused before pidfd_open, IsAlive (start time) ends the loop.
            if (pidfd.IsInvalid || Processes.PollReadable(pidfd.Number, (int)Math.Min(left.TotalMilliseconds + 1, 100)) < 0)
                Thread.Sleep(5);
        }
    }

    /// <summary>
    /// The capabilities the Sentry may hold (its bounding set; every other one is gone before boot
    /// starts). They count only over boot's own user namespace and the namespaces it owns (mount,
    /// PID, UTS, IPC, and the network namespace when boot creates it): boot holds none over the
    /// host. KILL and SYS_PTRACE for its stubs; SETPCAP for the securebits that keep the stubs
    /// capability-less; SYS_ADMIN for the mounts of its empty root (the allow-list seccomp filter
    /// it installs afterwards refuses every mount and namespace call); NET_BIND_SERVICE,
    /// NET_BROADCAST, NET_ADMIN, NET_RAW for host sockets in a network namespace of its own (in a
    /// namespace given by path, or the host's, they count for nothing).
    /// </summary>
    private const ulong SentryCapabilities =
        (1UL << 5) | (1UL << 8) | (1UL << 10) | (1UL << 11) | (1UL << 12) | (1UL << 13) | (1UL << 19) | (1UL << 21);

    /// <summary>
    /// The capabilities the gofer may ever hold: what its set-up needs (SYS_ADMIN for its mounts
    /// and pivot_root, SETPCAP to shrink its bounding set, SETUID to become uid 65534) and what
    /// serving keeps (CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID). The gofer drops all
    /// but the last five itself before serving (gofer/Process/CapabilityDrop.cs).
    /// </summary>
    private const ulong GoferSetupCapabilities =
        (1UL << 0) | (1UL << 1) | (1UL << 2) | (1UL << 3) | (1UL << 4) | (1UL << 7) | (1UL << 8) | (1UL << 21);

    private static unsafe int WriteSpecMemfd(Spec spec, string rootfs)
    {
        // The children get the spec with root.path made absolute.
        string original = spec.Root!.Path;
        spec.Root.Path = rootfs;
        byte[] json;
        try { json = SpecFile.Serialize(spec); }
        finally { spec.Root.Path = original; }
        using var fd = new FileDescriptor(Processes.MemfdCreate("runsc-net-spec", Processes.MFD_CLOEXEC));
        if (fd.IsInvalid) throw new RuntimeError($"memfd_create: {Processes.LastError()}");
        fixed (byte* p = json)
        {
            long done = 0;
            while (done < json.Length)
            {
                nint n = Processes.PWrite(fd.Number, p + done, (nint)(json.Length - done), done);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw new RuntimeError($"writing the spec for the sandbox: {Processes.LastError()}");
                }
                done += n;
            }
        }
        return fd.Release();
    }

    /// <summary>
    /// Creates the control listener at <paramref name="path"/>, mode 0600 whatever the caller's
    /// umask: unix(7) bind makes the file with the socket inode's mode less the umask, so the
    /// fchmod before bind leaves no moment in which the socket exists with a wider mode (a
    /// process-wide temporary umask would race other threads). Only its owner (the uid that
    /// creates the container) and root can connect; boot also checks SO_PEERCRED.
    /// </summary>
    private static unsafe int Listen(string path)
    {
        try { File.Delete(path); } catch (IOException) { }
        using var fd = new FileDescriptor(LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0));
        if (fd.IsInvalid) throw new RuntimeError($"creating the control socket: {Processes.LastError()}");
        int length = Sockets.MakeAddress(path, out var address);
        if (LibC.fchmod(fd.Number, (int)ControlSocketMode) < 0 || LibC.bind(fd.Number, (sockaddr*)&address, length) < 0 || LibC.listen(fd.Number, 64) < 0)
        {
            string error = Processes.LastError();
            throw new RuntimeError($"binding the control socket {path}: {error}");
        }
        // A kernel that ignored the socket inode's mode would leave a wider file: refuse to serve it.
        if (!OperatingSystem.IsWindows() && ((int)File.GetUnixFileMode(path) & 0x3f) != 0)
        {
            fd.Dispose();
            try { File.Delete(path); } catch (IOException) { }
            throw new RuntimeError($"the control socket {path} was created with group/other access");
        }
        return fd.Release();
    }

    /// <summary>Mode of the control socket: owner read/write only.</summary>
    public const uint ControlSocketMode = 0x180; // 0600

    private static void WaitUntilReady(string containerId, string controlPath, int bootPid)
    {
        try
        {
            new ControlClient(controlPath, containerId).Call(new ControlRequest { Operation = ControlOperation.Ping }, timeout: ReadyTimeout);
        }
        catch (SandboxUnreachableException)
        {
            int rc = Processes.WaitPid(bootPid, out int status, Processes.WNOHANG | Processes.__WALL);
            string how = rc == bootPid ? WaitStatus.Describe(status) : "did not answer";
            throw new RuntimeError($"container {containerId}: the sandbox process {how} before it was ready (run with --debug-log DIR for details)");
        }
    }

    private static void KillAndReap(int pid)
    {
        if (pid <= 0) return;
        Processes.Kill(pid, 9);
        Processes.WaitPid(pid, out _, Processes.__WALL);
    }
}
