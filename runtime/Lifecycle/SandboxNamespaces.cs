using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Interop;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Which host namespaces boot (the container pid) is born in, from linux.namespaces, as
/// config-linux.md says: a type listed without a path is a new namespace, with a path that
/// namespace is joined, a type not listed is the caller's (inherited).
///
/// Boot always also has a user namespace of its own (its confinement, docs/SECURITY.md), so what
/// can be honoured depends on who owns the namespace:
/// - network, uts: joined by the runtime's cloning thread around the clone (boot holds no
///   capability over such a namespace; it needs none there) or inherited by not creating them.
/// - ipc: the Sentry's own System V IPC, so only a new one (or, for a pod, its sandbox's, see
///   SandboxJoin) can be honoured: a path or a missing entry is refused.
/// - cgroup: a new one is made by boot itself once it has read its cgroups (sandbox/Boot);
///   inherited when not listed.
/// - mount, pid: boot needs its own (its empty root, and a PID namespace that shows it only its
///   stubs); a path or a missing entry cannot be honoured without giving that up: refused.
/// - user: a new one is the Sentry's id mapping (linux.uidMappings/gidMappings); none means the
///   identity mapping; a path would need boot to run as an id of a namespace it does not own: refused.
/// </summary>
internal static class SandboxNamespaces
{
    /// <summary>NS_GET_NSTYPE (ioctl_ns(2)): the CLONE_NEW* type of an nsfs file.</summary>
    private const ulong NS_GET_NSTYPE = 0xb703;

    private static readonly Dictionary<string, long> s_types = new(StringComparer.Ordinal)
    {
        ["pid"] = Processes.CLONE_NEWPID, ["network"] = Processes.CLONE_NEWNET, ["mount"] = Processes.CLONE_NEWNS,
        ["ipc"] = Processes.CLONE_NEWIPC, ["uts"] = Processes.CLONE_NEWUTS, ["user"] = Processes.CLONE_NEWUSER,
        ["cgroup"] = Processes.CLONE_NEWCGROUP, ["time"] = 0x80, // CLONE_NEWTIME
    };

    /// <summary>
    /// Checks linux.namespaces (and the fields that depend on them) before anything starts:
    /// every path must name a namespace of its type, and what boot cannot honour is refused.
    /// </summary>
    public static void Validate(Spec spec)
    {
        var namespaces = spec.Linux?.Namespaces ?? [];
        foreach (var ns in namespaces)
        {
            if (ns.Path != null && s_types.ContainsKey(ns.Type)) Open(ns).Dispose();
        }
        Namespace? Find(string type) => namespaces.FirstOrDefault(n => n.Type == type);
        foreach (string type in new[] { "mount", "pid" })
        {
            var ns = Find(type);
            if (ns == null)
                throw new RuntimeError($"linux.namespaces: the container must have a {type} namespace of its own: runsc-net's sandbox process cannot share the caller's (its confinement needs one it owns)");
            if (ns.Path != null)
                throw new RuntimeError($"linux.namespaces: joining the {type} namespace {ns.Path} is not supported: the sandbox keeps a {type} namespace of its own for its confinement");
        }
        // The Sentry keeps the container's System V IPC and POSIX message queues itself: a new IPC
        // namespace is exactly that, but the caller's or another process's (a pod joins its
        // sandbox by annotations or by the sandbox's own paths, in SandboxJoin) would silently not
        // be shared with the host processes there.
        if (Find("ipc") is not { } ipc)
            throw new RuntimeError("linux.namespaces: the container must have an ipc namespace of its own (host IPC is not supported): the Sentry keeps the container's System V IPC and POSIX message queues itself and cannot share the caller's");
        if (ipc.Path != null)
            throw new RuntimeError($"linux.namespaces: joining the ipc namespace {ipc.Path} is not supported: it is not a runsc-net sandbox's, and the Sentry keeps the container's System V IPC itself, so its objects would not be shared");
        if (Find("user") is { Path: not null } user)
            throw new RuntimeError($"linux.namespaces: joining the user namespace {user.Path} is not supported: the sandbox process runs in a user namespace of its own, and the container's ids are mapped by the Sentry (use linux.uidMappings/gidMappings)");
        if (Find("cgroup") is { Path: not null } cgroup)
            throw new RuntimeError($"linux.namespaces: joining the cgroup namespace {cgroup.Path} is not supported (a new one, or the caller's, is)");
        if (Find("time") is { } time)
            throw new RuntimeError($"linux.namespaces: time namespaces are not supported{(time.Path != null ? $" ({time.Path})" : "")}");
        bool userNs = Find("user") != null;
        // runc's rules (libcontainer/configs/validate): maps need a user namespace and vice versa.
        if (!userNs && (spec.Linux?.UidMappings is { Count: > 0 } || spec.Linux?.GidMappings is { Count: > 0 }))
            throw new RuntimeError("linux.uidMappings/gidMappings are set but linux.namespaces has no user namespace");
        if (userNs && (spec.Linux?.UidMappings is not { Count: > 0 } || spec.Linux?.GidMappings is not { Count: > 0 }))
            throw new RuntimeError("linux.namespaces: a user namespace needs linux.uidMappings and linux.gidMappings");
        if (userNs)
        {
            CheckMappings(spec.Linux!.UidMappings!, "uidMappings");
            CheckMappings(spec.Linux!.GidMappings!, "gidMappings");
        }
        // runc: a hostname needs a UTS namespace in the list (new, or joined: then it is set there).
        if (!string.IsNullOrEmpty(spec.Hostname) && Find("uts") == null)
            throw new RuntimeError("hostname is set but linux.namespaces has no uts namespace");
    }

    /// <summary>
    /// At most 340 ranges (the kernel's limit), none empty, none past 2^32, no two overlapping on
    /// either side, as the kernel checks a written uid_map.
    /// </summary>
    private static void CheckMappings(List<IdMapping> maps, string field)
    {
        if (maps.Count > 340) throw new RuntimeError($"linux.{field}: more than 340 ranges");
        for (int i = 0; i < maps.Count; i++)
        {
            var m = maps[i];
            if (m.Size == 0 || (ulong)m.ContainerId + m.Size > 1UL << 32 || (ulong)m.HostId + m.Size > 1UL << 32)
                throw new RuntimeError($"linux.{field}[{i}]: empty or out-of-range mapping");
            for (int j = 0; j < i; j++)
            {
                var o = maps[j];
                if (Overlap(m.ContainerId, m.Size, o.ContainerId, o.Size) || Overlap(m.HostId, m.Size, o.HostId, o.Size))
                    throw new RuntimeError($"linux.{field}[{i}] overlaps linux.{field}[{j}]");
            }
        }
        static bool Overlap(uint a, uint an, uint b, uint bn) => (ulong)a < (ulong)b + bn && (ulong)b < (ulong)a + an;
    }

    /// <summary>
    /// boot's clone flags (besides CLONE_NEWUSER, which NamespacedProcess adds) and the namespaces
    /// its cloning thread joins. The returned fds are the caller's to close.
    /// </summary>
    public static (long Flags, List<(int Fd, long Type)> Joins) ForBoot(Spec spec, GlobalOptions global)
    {
        long flags = Processes.CLONE_NEWNS | Processes.CLONE_NEWPID;
        var joins = new List<(int, long)>();
        var opened = new List<FileDescriptor>();
        try
        {
            foreach (var ns in spec.Linux?.Namespaces ?? [])
            {
                long type = ns.Type switch
                {
                    "ipc" => Processes.CLONE_NEWIPC,
                    "uts" => Processes.CLONE_NEWUTS,
                    // --network host keeps the caller's; none and sandbox honour the spec.
                    "network" when global.Network != "host" => Processes.CLONE_NEWNET,
                    _ => 0,
                };
                if (type == 0) continue;
                if (ns.Path == null) flags |= type;
                else
                {
                    var fd = Open(ns);
                    opened.Add(fd);
                    joins.Add((fd.Number, type));
                }
            }
        }
        catch
        {
            foreach (var fd in opened) fd.Dispose();
            throw;
        }
        // The caller owns the joined namespaces' fds from here.
        foreach (var fd in opened) fd.Release();
        return (flags, joins);
    }

    /// <summary>
    /// The spec's hostname in a UTS namespace given by path, set from this thread while it is in
    /// it, as runc's init does after joining (boot holds no capability there).
    /// </summary>
    public static unsafe void SetHostname(int utsFd, string? hostname)
    {
        if (string.IsNullOrEmpty(hostname)) return;
        using var inside = ThreadNamespaces.Enter([(utsFd, Processes.CLONE_NEWUTS)]);
        byte[] name = System.Text.Encoding.UTF8.GetBytes(hostname);
        fixed (byte* p = name)
        {
            if (Processes.SetHostname(p, (nuint)name.Length) < 0)
                throw new RuntimeError($"setting hostname {hostname} in the container's UTS namespace: {Processes.LastError()}");
        }
    }

    /// <summary>Opens the nsfs file of <paramref name="ns"/> and checks that it is a namespace of its type.</summary>
    private static unsafe FileDescriptor Open(Namespace ns)
    {
        var fd = new FileDescriptor(Processes.Open(ns.Path!, OpenFlags.O_CLOEXEC, 0));
        if (fd.IsInvalid) throw new RuntimeError($"linux.namespaces: opening {ns.Type} namespace {ns.Path}: {Processes.LastError()}");
        int actual = Terminals.Ioctl(fd.Number, NS_GET_NSTYPE, null);
        if (actual < 0 || actual != s_types[ns.Type])
        {
            string what = actual < 0 ? "is not a namespace file" : $"is a {Name(actual)} namespace, not a {ns.Type} namespace";
            fd.Dispose();
            throw new RuntimeError($"linux.namespaces: {ns.Path} {what}");
        }
        return fd;
    }

    private static string Name(long type) => s_types.FirstOrDefault(kv => kv.Value == type).Key ?? $"0x{type:x}";
}
