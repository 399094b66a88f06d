using RunscNet.Runtime.Interop;
using RunscNet.Runtime.Logging;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Set-up of a network namespace given by path (podman, CNI) before boot joins it. Such a
/// namespace belongs to the host's user namespace, where boot holds no capability, so without
/// help a server in the container could not bind port 80 as it can under runc (whose container
/// root holds CAP_NET_BIND_SERVICE there). We lower net.ipv4.ip_unprivileged_port_start to 0 in
/// that namespace (never in ours: the write is made by this thread while it is in the
/// container's namespace); the Sentry still checks the task's own CAP_NET_BIND_SERVICE before
/// any bind. Raw and packet sockets and interface changes stay impossible there (docs/SECURITY.md).
/// </summary>
internal static class NetworkNamespaceSetup
{
    private const string UnprivilegedPortStart = "/proc/sys/net/ipv4/ip_unprivileged_port_start";

    /// <summary>Sets ip_unprivileged_port_start=0 in network namespace <paramref name="netnsFd"/>; warns on failure.</summary>
    public static void AllowPrivilegedPorts(int netnsFd)
    {
        using var inside = ThreadNamespaces.Enter([(netnsFd, Processes.CLONE_NEWNET)]);
        // /proc/sys/net shows the namespace of the thread that opens it.
        using var fd = new FileDescriptor(Processes.Open(UnprivilegedPortStart, OpenFlags.O_WRONLY | OpenFlags.O_CLOEXEC, 0));
        if (fd.IsInvalid)
        {
            RuntimeLog.Warning($"container network namespace: {UnprivilegedPortStart}: {Processes.LastError()}");
            return;
        }
        unsafe
        {
            byte zero = (byte)'0';
            if (Processes.Write(fd.Number, &zero, 1) != 1)
                RuntimeLog.Warning($"container network namespace: writing {UnprivilegedPortStart}: {Processes.LastError()}");
        }
    }

    /// <summary>
    /// Writes the net.* entries of linux.sysctl into network namespace <paramref name="netnsFd"/>
    /// (one given by path; boot writes them into a namespace it creates itself). A failed write
    /// fails the create, as runc's does.
    /// </summary>
    public static unsafe void ApplySysctls(int netnsFd, StateFile.Oci.Spec spec)
    {
        var entries = SysctlRules.NetworkEntries(spec).ToList();
        if (entries.Count == 0) return;
        using var inside = ThreadNamespaces.Enter([(netnsFd, Processes.CLONE_NEWNET)]);
        foreach (var (path, value) in entries)
        {
            bool ok;
            string error;
            using (var fd = new FileDescriptor(Processes.Open("/proc/sys/" + path, OpenFlags.O_WRONLY | OpenFlags.O_CLOEXEC, 0)))
            {
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(value);
                ok = !fd.IsInvalid;
                if (ok)
                    fixed (byte* p = bytes) ok = Processes.Write(fd.Number, p, bytes.Length) == bytes.Length;
                error = ok ? "" : Processes.LastError();
            }
            if (!ok) throw new RuntimeError($"linux.sysctl: writing {path.Replace('/', '.')}={value} in the container's network namespace: {error}");
        }
    }
}
