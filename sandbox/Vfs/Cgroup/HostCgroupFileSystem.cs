namespace RunscNet.Sentry.Vfs.Cgroup;

/// <summary>
/// One cgroup hierarchy as the container sees it (cgroups(7) with a cgroup namespace rooted at
/// the sandbox's cgroup, as runc gives a container): the sandbox's own cgroup directory of the
/// host, read-only. Programs read their limits here (memory.max or memory.limit_in_bytes,
/// cpu.max or cpu.cfs_quota_us, pids.max: the JVM, .NET, Go, systemd). The directory is
/// bind-mounted read-only into the Sentry's empty root while boot still sees the host's tree
/// (EmptyRoot); every lookup goes one component at a time below it with O_NOFOLLOW, so nothing
/// outside the sandbox's cgroup is reachable.
/// </summary>
internal sealed class HostCgroupFileSystem : FileSystem
{
    private readonly string _typeName;
    private readonly string _options;
    private readonly long _magic;

    /// <summary>A view of directory <paramref name="viewPath"/> of the Sentry's root.</summary>
    public HostCgroupFileSystem(string viewPath, bool unified, string controllers)
    {
        _typeName = unified ? "cgroup2" : "cgroup";
        _options = controllers;
        _magic = unified ? 0x63677270 : 0x27e0eb;
        Root = new Host.HostViewInode(this, viewPath);
    }

    /// <inheritdoc/>
    public override string TypeName => _typeName;

    /// <inheritdoc/>
    public override string ShowOptions => _options;

    /// <inheritdoc/>
    public override long Magic => _magic;

    /// <inheritdoc/>
    public override bool CachesMissingNames => false;

    /// <inheritdoc/>
    public override Inode Root { get; }

    /// <inheritdoc/>
    public override StatFsInfo DefaultStatFs() => new() { Type = _magic, BlockSize = 4096, NameLength = 255, FragmentSize = 4096 };
}

