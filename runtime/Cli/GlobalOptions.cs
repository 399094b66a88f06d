namespace RunscNet.Runtime.Cli;

/// <summary>How log lines are written: logrus-style text or one JSON object per line.</summary>
public enum LogFormat
{
    /// <summary><c>time="..." level=error msg="..."</c></summary>
    Text,
    /// <summary><c>{"level":"error","msg":"...","time":"..."}</c> (what containerd parses)</summary>
    Json,
}

/// <summary>Flags given before the command (runc's and runsc's global flags).</summary>
public sealed class GlobalOptions
{
    /// <summary>The default --root.</summary>
    public const string DefaultRoot = "/var/run/runsc-net";

    /// <summary>Directory of the state files (--root).</summary>
    public string Root { get; set; } = DefaultRoot;

    /// <summary>File the log lines go to (--log); null: stderr only.</summary>
    public string? LogFile { get; set; }

    /// <summary>Format of log lines (--log-format).</summary>
    public LogFormat LogFormat { get; set; } = LogFormat.Text;

    /// <summary>Also log debug lines (--debug).</summary>
    public bool Debug { get; set; }

    /// <summary>Directory (or file pattern) for per-process debug logs (--debug-log).</summary>
    public string? DebugLog { get; set; }

    /// <summary>cgroupsPath is in systemd's slice:prefix:name form (--systemd-cgroup).</summary>
    public bool SystemdCgroup { get; set; }

    /// <summary>Network mode (--network): sandbox, none or host.</summary>
    public string Network { get; set; } = "sandbox";

    /// <summary>Platform of the Sentry (--platform): ptrace or systrap.</summary>
    public string Platform { get; set; } = "systrap";

    /// <summary>
    /// Root file system overlay (--overlay): none (writes reach the rootfs, as podman expects) or
    /// memory (a copy-up layer held in the Sentry; the host rootfs is never written).
    /// </summary>
    public string Overlay { get; set; } = "none";

    /// <summary>
    /// Host unix sockets in the container's mounts (--host-uds, runsc's flag): none (default: the
    /// container can neither connect to nor create host sockets), open (connect to existing
    /// ones), create (bind new ones on the host), all (both).
    /// </summary>
    public string HostUds { get; set; } = "none";

    /// <summary>Log every system call the Sentry serves (--strace).</summary>
    public bool Strace { get; set; }

    /// <summary>The global flags in command-line form, to hand on to the boot and gofer processes.</summary>
    public List<string> ToArguments()
    {
        var args = new List<string> { "--root", Root, "--network", Network, "--platform", Platform, "--overlay", Overlay, "--host-uds", HostUds };
        if (LogFile != null) { args.Add("--log"); args.Add(LogFile); }
        args.Add("--log-format"); args.Add(LogFormat == LogFormat.Json ? "json" : "text");
        if (Debug) args.Add("--debug");
        if (DebugLog != null) { args.Add("--debug-log"); args.Add(DebugLog); }
        if (SystemdCgroup) args.Add("--systemd-cgroup");
        if (Strace) args.Add("--strace");
        return args;
    }
}
