using System.Runtime.InteropServices;
using RunscNet.Sentry.Kernel;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// What boot does itself for linux.namespaces and linux.sysctl (the runtime chose its host
/// namespaces, runtime/Lifecycle/SandboxNamespaces.cs): the net.* sysctls in a network namespace
/// it created (the runtime writes them into one given by path), a new cgroup namespace rooted at
/// the sandbox's cgroups when the spec lists one, and the identities /proc/PID/ns reports.
/// </summary>
internal static partial class SandboxNamespaceSetup
{
    private const int CLONE_NEWCGROUP = 0x02000000;

    /// <summary>
    /// Writes linux.sysctl's net.* keys in boot's own network namespace (it owns it through its
    /// user namespace, so root there may). Only when boot made that namespace: with one given by
    /// path the runtime already wrote them; with the host's they were refused at create.
    /// </summary>
    public static void ApplyNetworkSysctls(Spec spec, BootOptions options)
    {
        var net = spec.Linux?.Namespaces?.FirstOrDefault(n => n.Type == "network");
        if (net == null || net.Path != null || options.Network == "host") return;
        foreach (var (key, value) in spec.Linux!.Sysctl ?? [])
        {
            string dotted = key.Replace('/', '.');
            if (!dotted.StartsWith("net.", StringComparison.Ordinal)) continue;
            string path = "/proc/sys/" + dotted.Replace('.', '/');
            try { File.WriteAllText(path, value); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"linux.sysctl: writing {dotted}={value} in the sandbox's network namespace: {e.Message}");
            }
        }
    }

    /// <summary>
    /// A new cgroup namespace when the spec lists one (without a path: joining is refused at
    /// create): rooted at boot's cgroups, which are the sandbox's, as runc roots the container's
    /// at its cgroup. Called after the Sentry has found its cgroup directories.
    /// </summary>
    public static void EnterCgroupNamespace(Spec spec, DebugLog log)
    {
        if (spec.Linux?.Namespaces?.Any(n => n.Type == "cgroup" && n.Path == null) != true) return;
        if (Unshare(CLONE_NEWCGROUP) != 0)
            throw new InvalidOperationException($"unshare(CLONE_NEWCGROUP): errno {Marshal.GetLastPInvokeError()}");
        log.Write("boot: new cgroup namespace");
    }

    /// <summary>
    /// Records the namespaces boot is in (created, joined or inherited as the spec said) for
    /// /proc/PID/ns of the container's processes, so the links inside name the same namespaces
    /// as /proc/BOOT/ns on the host.
    /// </summary>
    public static void CaptureNamespaceIds()
    {
        var ids = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string name in new[] { "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts" })
        {
            try
            {
                string target = new FileInfo("/proc/self/ns/" + name).LinkTarget ?? "";
                int open = target.IndexOf('['), close = target.IndexOf(']');
                if (open > 0 && close > open && ulong.TryParse(target.AsSpan(open + 1, close - open - 1), out ulong ino)) ids[name] = ino;
            }
            catch (IOException) { }
        }
        Vfs.Proc.ProcFileSystem.NamespaceIds = ids;
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int Unshare(int flags);
}
