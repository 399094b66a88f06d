using System.Net.Sockets;

namespace RunscNet.Tests.Integration;

/// <summary>
/// What a test needs from the machine, each check giving the reason to skip (null when met). The
/// skip attributes call these in their constructors, so a missing fixture or tool shows as a
/// skipped test with its reason, never as a pass; scripts/test.sh fails in CI when anything skips.
/// </summary>
public static class TestRequirements
{
    /// <summary>The busybox rootfs named by RUNSC_NET_ROOTFS (scripts/test.sh builds it), or null.</summary>
    public static string? Rootfs => Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS") is { Length: > 0 } r
        && File.Exists(Path.Combine(r, "bin", "busybox")) ? r : null;

    /// <summary>
    /// The CPython rootfs of scripts/build-python-rootfs.sh: RUNSC_NET_PYTHON_ROOTFS, or
    /// fixtures/python/rootfs beside the busybox fixture; null when it has no python3.
    /// </summary>
    public static string? PythonRootfs
    {
        get
        {
            string? r = Environment.GetEnvironmentVariable("RUNSC_NET_PYTHON_ROOTFS");
            if (string.IsNullOrEmpty(r) && Rootfs is { } busybox)
                r = Path.GetFullPath(Path.Combine(busybox, "..", "..", "python", "rootfs"));
            return !string.IsNullOrEmpty(r) && File.Exists(Path.Combine(r, "usr", "bin", "python3.11")) ? r : null;
        }
    }

    public const string NoPythonRootfs = "no CPython rootfs: RUNSC_NET_PYTHON_ROOTFS (or fixtures/python/rootfs) lacks usr/bin/python3.11 (scripts/build-python-rootfs.sh builds it)";

    public const string NoRootfs = "RUNSC_NET_ROOTFS does not name the busybox rootfs with bin/busybox (scripts/test.sh builds it)";

    /// <summary>The first of the space-separated tools not found on PATH (or in the sbin directories), or null.</summary>
    public static string? MissingTool(string? tools)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/local/sbin"]);
        foreach (string tool in (tools ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (!dirs.Any(d => File.Exists(Path.Combine(d, tool))))
                return tool;
        return null;
    }

    /// <summary>The first of the space-separated absolute paths that does not exist, or null.</summary>
    public static string? MissingFile(string? files) =>
        (files ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => !File.Exists(f) && !Directory.Exists(f));

    public const string ContainerdSocket = "/run/containerd/containerd.sock";

    /// <summary>
    /// Whether a containerd daemon accepts connections on its socket. A socket file can outlive its
    /// daemon; connecting tells (refused at once), without running ctr while tests are discovered.
    /// </summary>
    public static bool ContainerdAnswers()
    {
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(ContainerdSocket));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The reason a test with these needs must skip here, or null when it can run.</summary>
    public static string? SkipReason(bool needsBinary, bool needsRoot, bool needsRootfs, string? needsTools = null,
        string? needsFiles = null, bool needsContainerd = false, bool needsPythonRootfs = false)
    {
        if (needsBinary && RunscNetBinary.Path == null)
            return "RUNSC_NET does not name the published runsc-net binary (scripts/test.sh sets it)";
        if (needsRoot && Environment.UserName != "root")
            return "needs root: create makes pid, mount, network namespaces";
        if (needsRootfs && Rootfs == null)
            return NoRootfs;
        if (needsPythonRootfs && PythonRootfs == null)
            return NoPythonRootfs;
        if (MissingTool(needsTools) is { } tool)
            return $"{tool} is not installed (.ci/run installs it)";
        if (MissingFile(needsFiles) is { } file)
            return $"{file} is missing on this host";
        if (needsContainerd && !ContainerdAnswers())
            return $"containerd does not answer on {ContainerdSocket} (.ci/run starts it)";
        return null;
    }
}
