using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Proc;

internal sealed partial class ProcFileSystem
{
    /// <summary>The namespaces /proc/PID/ns lists, in Linux's order, with the inode number each has in this sandbox.</summary>
    private static readonly (string Name, ulong Ino)[] s_namespaces =
    [
        ("cgroup", 4026532411), ("ipc", 4026532409), ("mnt", 4026532407), ("net", 4026532412), ("pid", 4026532410),
        ("pid_for_children", 4026532410), ("time", 4026531834), ("time_for_children", 4026531834), ("user", 4026531837),
        ("uts", 4026532408),
    ];

    /// <summary>
    /// The host namespaces boot is in (captured at boot): the container's processes are in the
    /// namespaces linux.namespaces asked for, which are boot's (created, joined or inherited), so
    /// their links name those. Empty in-process (tests): the fixed numbers above.
    /// </summary>
    public static IReadOnlyDictionary<string, ulong> NamespaceIds { get; set; } = new Dictionary<string, ulong>();

    /// <summary>
    /// /proc/PID/ns: one link per namespace, "type:[inode]" as readlink shows it; stat through it
    /// gives the namespace's nsfs identity, so tools that compare two processes' namespaces (stat
    /// -L, test -ef) see every process of the sandbox in the same ones. The sandbox's processes
    /// all share the sandbox's namespaces; setns is not supported.
    /// </summary>
    private Inode NamespaceDirectory(uint uid, uint gid)
    {
        var entries = new Dictionary<string, Func<Inode>>();
        foreach (var (name, ino) in s_namespaces)
        {
            string type = name.Replace("_for_children", "", StringComparison.Ordinal);
            ulong id = NamespaceIds.TryGetValue(name, out ulong captured) ? captured : ino;
            entries[name] = () => new ProcSymlink(this, _ => $"{type}:[{id}]", null, uid, gid, _ => new NamespaceFile(id));
        }
        return ProcDirectory.Fixed(this, entries, 0x149, uid, gid);
    }
}

/// <summary>An open namespace file (nsfs): stat gives the namespace's identity.</summary>
internal sealed class NamespaceFile : FileDescription
{
    private readonly ulong _ino;

    /// <summary>The nsfs device (0:4, as Linux's nsfs usually is).</summary>
    private static readonly ulong s_device = Dev.DeviceRegistry.MakeDev(0, 4);

    public NamespaceFile(ulong ino)
    {
        _ino = ino;
        StatusFlags = OpenFlags.O_RDONLY;
    }

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = new InodeAttr { Mode = LinuxMode.S_IFREG | 0x124, Nlink = 1, Dev = s_device, Ino = _ino, BlockSize = 4096 };
        return 0;
    }

    /// <inheritdoc/>
    public override int Reopen(Task task, int flags, out FileDescription? file)
    {
        file = new NamespaceFile(_ino);
        return 0;
    }

    /// <inheritdoc/>
    public override string AnonymousName => $"nsfs:[{_ino}]";
}
