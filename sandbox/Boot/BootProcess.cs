using RunscNet.StateFile;
using RunscNet.Gofer;
using RunscNet.Sentry.Control;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Boot;

/// <summary>The body of `runsc-net boot`: the sandbox process.</summary>
public static class BootProcess
{
    /// <summary>
    /// Builds the sandbox from the spec and the gofer connection, serves the control socket, and
    /// when the container's init exits, ends this process the same way: with init's exit code, or
    /// by init's terminating signal (so the caller waiting on this pid sees the same status).
    /// Returns the exit code (when it does not die by a signal).
    /// </summary>
    public static int Run(BootOptions options)
    {
        var log = options.DebugLog is { } sink ? new DebugLog(sink) : DebugLog.Null;
        // First of all: no program this process starts (the stubs) gains capabilities by running
        // as root of the sandbox's user namespace.
        SentryPrivileges.LockStubsOutOfCapabilities(log);
        // OpenSSL's SHA-256 for checkpoint images can only be loaded from the host's tree: it is
        // loaded on a thread of its own while the sandbox is set up (~7 ms, off the start path)
        // and waited for before the empty root.
        var sha = System.Diagnostics.Stopwatch.StartNew();
        double shaMs = 0;
        var shaLoader = new Thread(() =>
        {
            RunscNet.StateFile.Checkpoint.Sha256.LoadNative();
            shaMs = sha.Elapsed.TotalMilliseconds;
        }) { IsBackground = true, Name = "sha256-load" };
        shaLoader.Start();
        SentrySandbox sandbox;
        Spec? setup = null;
        if (options.Network != "host") Loopback.BringUp(log);
        try
        {
            Spec spec = SpecFile.ReadFromFd(options.SpecFd);
            FileDescriptor.Close(options.SpecFd);
            // Before the mount table: file owners come through the container's user namespace.
            UserNamespace.Current = UserNamespace.FromSpec(spec);
            Vfs.Proc.ProcFileSystem.SpecSysctls = Vfs.Proc.ProcFileSystem.SentrySysctls(spec);
            SandboxNamespaceSetup.ApplyNetworkSysctls(spec, options);
            setup = spec;
            var gofer = new GoferClient(options.GoferFd);
            sandbox = SentrySandbox.Create(spec, gofer, new[] { 0, 1, 2 }, options.ConsoleFd, log, options.Strace,
                Platform.PlatformFactory.Create(options.Platform), memoryOverlay: options.Overlay == "memory",
                preservedFds: Enumerable.Range(BootOptions.PreservedFdBase, Math.Max(0, options.PreservedFds)).ToArray());
            // Before init's first instruction (start): which host sockets connect may reach.
            sandbox.Kernel.Vfs.HostUds = RunscNet.Gofer.HostUnixSocketsNames.Parse(options.HostUds)
                ?? throw new ArgumentException($"unknown --host-uds mode {options.HostUds}");
        }
        catch (Exception e)
        {
            log.Write($"boot: {e}");
            RawStdio.Error.WriteLine($"runsc-net boot: {e.Message}");
            return 1;
        }
        if (options.ConsoleFd >= 0 && OperatingSystem.IsLinux()) TerminalSignals.Forward(sandbox.Kernel, options.ConsoleFd, log);
        // The container's ptmx opens make host ptys: keep the host's ptmx reachable (a device file, not a directory).
        Vfs.Dev.PtmxInode.KeepHostPtmx();
        Vfs.Cgroup.HostCgroups.Capture();
        // The sysctls the socket permission checks use (the sandbox's network namespace).
        Vfs.Socket.NetSysctls.Capture();
        long waited = System.Diagnostics.Stopwatch.GetTimestamp();
        shaLoader.Join();
        bool nativeSha = RunscNet.StateFile.Checkpoint.Sha256.LoadNative();
        log.Write($"boot: SHA-256 for checkpoint images: {(nativeSha ? "OpenSSL" : "managed code (OpenSSL unusable)")} (loaded in {shaMs:F1} ms, waited {System.Diagnostics.Stopwatch.GetElapsedTime(waited).TotalMilliseconds:F1} ms)");
        // Set up: from here on the Sentry needs no host path, so it gives up the host's tree.
        EmptyRoot.Enter(log);
        try { SandboxNamespaceSetup.EnterCgroupNamespace(setup!, log); }
        catch (InvalidOperationException e)
        {
            log.Write($"boot: {e.Message}");
            Console.Error.WriteLine($"runsc-net boot: {e.Message}");
            return 1;
        }
        SandboxNamespaceSetup.CaptureNamespaceIds();
        // Hardening once set up, before the control server can start the container's init (so
        // before any application instruction runs): nothing this process executes later may gain
        // privileges, and the host calls it makes are the allow-listed ones (every thread).
        if (HostIo.Prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0) != 0) log.Write("boot: PR_SET_NO_NEW_PRIVS failed");
        long filtered = SentrySeccomp.Install();
        if (filtered != 0) log.Write($"boot: seccomp filter not installed: {filtered}");
        var server = new ControlServer(options.ControlFd, sandbox, options.DebugLog);
        server.Start();
        int status = sandbox.WaitForInit();
        log.Write($"boot: init exited with wait status 0x{status:x}");
        ExitRecord.Save(options.ExitFd, status, log);
        server.WaitForPendingReplies(TimeSpan.FromSeconds(2));
        return ExitLike(status);
    }

    /// <summary>
    /// Exits with the exit code of <paramref name="status"/>, or dies by its signal; 128+signal
    /// when the kernel drops that signal. Nothing is waited for: raise(3) sends the signal to this
    /// thread, which has it unblocked and at its default action, so the kernel either delivers it
    /// before raise returns (a fatal signal ends the process there) or drops it when it is sent.
    /// It drops it here because boot is the init of its PID namespace, which a signal sent from
    /// inside that namespace cannot kill (SIGNAL_UNKILLABLE); so this returns at once (a 100 ms
    /// sleep here used to hold up every checkpoint and every kill of the container).
    /// </summary>
    private static unsafe int ExitLike(int status)
    {
        if (WaitStatus.IsExited(status)) return WaitStatus.ExitCode(status);
        int sig = WaitStatus.TermSignal(status);
        // No core file of the Sentry for the application's core-dumping signals.
        HostIo.Prctl(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
        HostIo.Signal(sig, 0 /* SIG_DFL */);
        ulong* set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        set[0] = 1UL << (sig - 1);
        HostIo.PthreadSigmask(1 /* SIG_UNBLOCK */, set, null);
        HostIo.Raise(sig);
        return 128 + sig;
    }
}
