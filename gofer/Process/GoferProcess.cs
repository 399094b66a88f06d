using RunscNet.StateFile;
using System.Text.Json;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Process;
using RunscNet.StateFile.Oci;

namespace RunscNet.Gofer;

/// <summary>
/// The <c>runsc-net gofer</c> process: sets up the container's files in its own mount namespace,
/// confines itself (pivot_root, no_new_privs, capabilities, seccomp) and serves the Sentry until
/// the socket closes.
/// </summary>
public static class GoferProcess
{
    /// <summary>
    /// Runs the gofer. Preconditions: a mount namespace of its own (CLONE_NEWNS) and root
    /// privileges in it. Returns the exit code: 0 after the Sentry closed the socket, 1 when setup
    /// failed (one line on stderr names what failed).
    /// </summary>
    public static int Run(GoferOptions options)
    {
        using GoferLog log = GoferLog.Open(options.DebugLogPath, options.ContainerId);
        try
        {
            GoferServer server = Setup(options, log);
            using (server)
            {
                log.Write("serving");
                // The start-up garbage is collected on the serving thread (the gofer's only thread
                // with capabilities: no helper thread) at its first idle pause (OnFirstIdle), not
                // here, where the Sentry waits for its first answers.
                server.Serve();
            }
            log.Write("socket closed; exiting");
            return 0;
        }
        catch (GoferSetupException e)
        {
            log.Write("setup failed: " + e.Message);
            RawStdio.Error.WriteLine($"runsc-net gofer: {e.Message}");
            return 1;
        }
    }

    /// <summary>Everything before serving; returns the server, ready to serve.</summary>
    private static GoferServer Setup(GoferOptions options, GoferLog log)
    {
        if (options.SocketFd < 0 || Files.FControl(options.SocketFd, Files.F_GETFL, 0) < 0)
        {
            throw new GoferSetupException($"socket fd {options.SocketFd} is not open");
        }
        string bundle = Path.GetFullPath(options.Bundle.Length == 0 ? "." : options.Bundle);
        Spec spec = options.SpecFd >= 0 ? ReadSpecFd(options.SpecFd) : ReadSpec(bundle);
        string rootfs = Path.GetFullPath(spec.Root?.Path ?? "rootfs", bundle);
        bool memoryOverlay = options.Overlay switch
        {
            "none" or "" => false,
            "memory" => true,
            _ => throw new GoferSetupException($"unknown overlay mode \"{options.Overlay}\" (none or memory)"),
        };
        HostUnixSockets hostUds = HostUnixSocketsNames.Parse(options.HostUds)
            ?? throw new GoferSetupException($"unknown --host-uds mode \"{options.HostUds}\" (none, open, create or all)");
        var skipped = new List<string>();
        List<BindMountPlan> binds = BindMountPlan.FromSpec(spec, bundle, skipped);
        log.Write($"bundle {bundle}, rootfs {rootfs}, {binds.Count} bind mount(s), overlay {options.Overlay}, host-uds {options.HostUds}, pid {Environment.ProcessId}");
        foreach (string s in skipped)
        {
            log.Write("not mounted by the gofer: " + s);
        }

        ContainerMounts.Isolate(binds.Any(b => (b.Propagation & (Mounts.MS_SLAVE | Mounts.MS_SHARED)) != 0));
        ContainerMounts.BindRootfs(rootfs);
        foreach (BindMountPlan plan in binds)
        {
            ContainerMounts.Bind(rootfs, plan, log);
        }
        // With --overlay=memory the Sentry keeps every change in its own copy-up layer, so the
        // gofer serves the rootfs read-only: the host rootfs is never written.
        bool readOnlyRoot = spec.Root?.Readonly == true || memoryOverlay;
        ContainerMounts.RestrictRootfs(rootfs, readOnlyRoot);
        log.Write(readOnlyRoot ? "rootfs is read-only, nodev" : "rootfs is nodev");

        // /proc is not part of the container's tree: keep /proc/self/fd of a procfs of our own
        // open across pivot_root, the server re-opens O_PATH handles through it.
        ContainerMounts.MountOwnProc(log);
        int procFd = Files.OpenAt(PathConsts.AT_FDCWD, "/proc/self/fd", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
        if (procFd < 0 || !IsProcFs(procFd))
        {
            throw new GoferSetupException("/proc/self/fd is not a procfs directory");
        }
        ImagePageTrim.KeepMapsOpen(); // the final root has no /proc
        var devNull = new FileDescriptor(Files.OpenAt(PathConsts.AT_FDCWD, "/dev/null", OpenFlags.O_WRONLY | OpenFlags.O_CLOEXEC, 0));
        if (devNull.IsInvalid)
        {
            throw GoferSetupException.FromErrno("open /dev/null", Files.Result(devNull.Number));
        }
        ContainerMounts.PivotInto(rootfs);
        int rootFd = Files.OpenAt(PathConsts.AT_FDCWD, "/", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
        if (rootFd < 0)
        {
            throw GoferSetupException.FromErrno("open / after pivot_root", Files.Result(rootFd));
        }
        Files.Umask(0);

        if (ProcessSecurity.Prctl(ProcessSecurity.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        {
            throw GoferSetupException.FromErrno("set no_new_privs", Files.Result(-1));
        }
        int r = CapabilityDrop.DropAllButKept(out bool allThreads);
        if (r < 0)
        {
            throw GoferSetupException.FromErrno("drop capabilities", r);
        }
        log.Write(allThreads
            ? $"capabilities: serving thread keeps chown, dac_override, dac_read_search, fowner, fsetid; other threads none (uid {CapabilityDrop.UnprivilegedUid})"
            : "capabilities: serving thread reduced; the uid change was refused, so other runtime threads keep theirs (seccomp still applies)");
        var server = new GoferServer(options.SocketFd, rootFd, new GoferServerOptions
        {
            ProcSelfFdDirectory = procFd,
            HostUds = hostUds,
            Log = log.Write,
            // The Sentry's set-up requests run code start-up did not: release it once they are over.
            OnFirstIdle = IdleHeapTrim.Now,
        });
        // Set-up errors went to the caller's stderr; from here on nothing does (the log has it). Let
        // go of that stderr: it is often the container's own pipe (containerd's shim, conmon),
        // which must reach EOF when the container's processes end, as under runc.
        if (Files.Dup3(devNull.Number, 2, 0) < 0)
        {
            throw GoferSetupException.FromErrno("replace stderr with /dev/null", Files.Result(-1));
        }
        devNull.Dispose(); // here, before seccomp and serving, not at the end of the method
        if (options.Seccomp)
        {
            r = SeccompFilter.Install(SeccompFilter.Violation.KillProcess);
            if (r < 0)
            {
                throw GoferSetupException.FromErrno("install the seccomp filter", r);
            }
            log.Write($"seccomp allowlist installed ({SeccompFilter.Allowed.Length} calls + socket/clone/prctl checks)");
        }
        else
        {
            log.Write("seccomp disabled by option");
        }
        return server;
    }

    private static Spec ReadSpec(string bundle)
    {
        string path = Path.Combine(bundle, "config.json");
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), OciJsonContext.Default.Spec)
                ?? throw new GoferSetupException($"{path}: empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new GoferSetupException($"read {path}: {e.Message}");
        }
    }

    /// <summary>Reads the spec from an inherited fd (pread from offset 0, so a shared offset does not matter) and closes the fd.</summary>
    internal static Spec ReadSpecFd(int fd)
    {
        var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length <= 0 || length > 16 << 20)
            {
                throw new GoferSetupException($"spec fd {fd}: {length} bytes");
            }
            byte[] json = new byte[length];
            int done = 0;
            while (done < json.Length)
            {
                int n = RandomAccess.Read(handle, json.AsSpan(done), done);
                if (n <= 0)
                {
                    throw new GoferSetupException($"spec fd {fd}: short read");
                }
                done += n;
            }
            return JsonSerializer.Deserialize(json, OciJsonContext.Default.Spec)
                ?? throw new GoferSetupException($"spec fd {fd}: empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            throw new GoferSetupException($"read the spec from fd {fd}: {e.Message}");
        }
        finally
        {
            handle.Dispose();
        }
    }

    private static unsafe bool IsProcFs(int fd)
    {
        StatFsBuffer fs;
        return Files.FStatFs(fd, &fs) == 0 && fs.Type == Mounts.ProcSuperMagic;
    }
}
