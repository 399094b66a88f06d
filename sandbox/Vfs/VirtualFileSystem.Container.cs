using RunscNet.Gofer;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Gofer;
using RunscNet.Sentry.Vfs.Proc;
using RunscNet.Sentry.Vfs.Tmpfs;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Vfs;

internal sealed partial class VirtualFileSystem
{
    /// <summary>Messages about mounts that could not be made (the boot code logs them).</summary>
    public List<string> MountWarnings { get; } = new();

    /// <summary>
    /// Builds the sandbox's mount table from the OCI spec at boot: the gofer-served root
    /// (read-only with root.readonly), then every spec mount in order — bind mounts attached
    /// through the gofer by destination (the gofer mounted them inside its tree), `tmpfs` (a
    /// devfs when mounted on /dev), `proc`, `sysfs`, `devpts`, `mqueue`; cgroup mounts are
    /// skipped. /dev and /proc are added when the spec has none. Returns 0 or -errno of the root
    /// attach; problems with single mounts are recorded in <see cref="MountWarnings"/>.
    /// With <paramref name="memoryOverlay"/> (--overlay=memory) the root is a copy-up layer in
    /// the Sentry over the gofer root, so the host rootfs is never written.
    /// </summary>
    public int MountContainer(Spec spec, GoferClient gofer, bool memoryOverlay = false)
    {
        int err = GoferFileSystem.Attach(gofer, "/", out var goferRoot);
        if (err != 0) return err;
        FileSystem rootFs = memoryOverlay ? new Overlay.OverlayFileSystem(goferRoot!) : goferRoot!;
        SetRoot(rootFs, spec.Root?.Readonly == true ? MountFlags.ReadOnly : MountFlags.None, "rootfs");
        DeviceRules = Dev.DeviceAccessRules.FromSpec(spec.Linux?.Resources?.Devices);
        return MountSpecMounts(spec, gofer);
    }

    /// <summary>
    /// The root a mount table is being built under: the sandbox's, or while
    /// <see cref="MountJoinedContainer"/> runs, the joining container's (builds are serialized by
    /// <see cref="_buildLock"/>; only build-time code resolves through it).
    /// </summary>
    private VfsPath BuildRoot => _buildRoot ?? RootPath;

    private VfsPath? _buildRoot;
    private readonly object _buildLock = new();

    /// <summary>
    /// Builds the mount table of a container that joins the running sandbox, as
    /// <see cref="MountContainer"/> does for the first one, under a root mount of its own that
    /// is attached nowhere: its tasks get it as their root, so neither container reaches the
    /// other's files. The device rules stay the sandbox's. Returns 0 or -errno.
    /// </summary>
    public int MountJoinedContainer(Spec spec, GoferClient gofer, bool memoryOverlay, out Mount? root)
    {
        root = null;
        int err = GoferFileSystem.Attach(gofer, "/", out var goferRoot);
        if (err != 0) return err;
        FileSystem rootFs = memoryOverlay ? new Overlay.OverlayFileSystem(goferRoot!) : goferRoot!;
        var mount = new Mount(rootFs, new Dentry("/", null, rootFs.Root), spec.Root?.Readonly == true ? MountFlags.ReadOnly : MountFlags.None) { Source = "rootfs" };
        lock (_buildLock)
        {
            lock (_mountLock) _mounts.Add(mount);
            _buildRoot = new VfsPath(mount, mount.Root);
            try
            {
                err = MountSpecMounts(spec, gofer);
            }
            finally
            {
                _buildRoot = null;
            }
        }
        if (err != 0)
        {
            DropMountTree(mount);
            return err;
        }
        root = mount;
        return 0;
    }

    /// <summary>Removes a joined container's root mount and every mount below it from the table.</summary>
    public void DropMountTree(Mount root)
    {
        lock (_mountLock) DetachTree(root);
    }

    /// <summary>The spec's mounts, devices and path rules under <see cref="BuildRoot"/>.</summary>
    private int MountSpecMounts(Spec spec, GoferClient gofer)
    {
        int err;
        var mounts = spec.Mounts ?? new List<StateFile.Oci.Mount>();
        bool haveDev = false, haveProc = false, havePts = false;
        foreach (var m in mounts)
        {
            string dest = NormalizeDestination(m.Destination);
            if (dest == "/dev") haveDev = true;
            if (dest == "/proc") haveProc = true;
            if (dest == "/dev/pts") havePts = true;
        }
        if (!haveDev) MountSpecial("/dev", DevFileSystem.Create(), MountFlags.NoSuid, "tmpfs");
        foreach (var m in mounts) MountOne(m, gofer);
        if (!havePts) MountSpecial("/dev/pts", DevptsFileSystem.Instance, MountFlags.NoSuid | MountFlags.NoExec, "devpts");
        if (!haveProc) MountSpecial("/proc", new ProcFileSystem(this), MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec, "proc");
        err = MakeSpecDevices(spec);
        if (err != 0) return err;
        err = ApplyPathRules(spec);
        if (err != 0) return err;
        ApplyRootPropagation(spec.Linux?.RootfsPropagation);
        return 0;
    }

    /// <summary>
    /// linux.rootfsPropagation applied to every mount of the container (runc applies it with
    /// MS_REC to the root): shared mounts each start a peer group of their own (nothing outside
    /// the sandbox is a peer), slave and private leave them private (a slave of nothing is
    /// private), unbindable makes them all unbindable. Without it everything stays private.
    /// </summary>
    private void ApplyRootPropagation(string? propagation)
    {
        var type = PropagationOf(propagation);
        if (type is MountPropagation t && t != MountPropagation.Private) SetPropagation(BuildRoot.Mount, t, recursive: true);
    }

    /// <summary>The propagation type of an option or rootfsPropagation value ("shared", "rslave"...), or null.</summary>
    internal static MountPropagation? PropagationOf(string? option) => option switch
    {
        "shared" or "rshared" => MountPropagation.Shared,
        "slave" or "rslave" => MountPropagation.Slave,
        "private" or "rprivate" => MountPropagation.Private,
        "unbindable" or "runbindable" => MountPropagation.Unbindable,
        _ => null,
    };

    private static string NormalizeDestination(string d)
    {
        var parts = d.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");
        return "/" + string.Join('/', parts);
    }

    /// <summary>Mount flags and tmpfs parameters (mode=, size=) from OCI mount options.</summary>
    private static MountFlags ParseOptions(List<string>? options, out bool bind, out uint mode, out long? size, out long? inodes)
    {
        var flags = MountFlags.None;
        bind = false;
        mode = 0;
        size = null;
        inodes = null;
        foreach (var o in options ?? new List<string>())
        {
            switch (o)
            {
                case "ro": flags |= MountFlags.ReadOnly; break;
                case "rw": flags &= ~MountFlags.ReadOnly; break;
                case "nosuid": flags |= MountFlags.NoSuid; break;
                case "nodev": flags |= MountFlags.NoDev; break;
                case "noexec": flags |= MountFlags.NoExec; break;
                case "strictatime": flags |= MountFlags.StrictAtime; break;
                case "bind":
                case "rbind": bind = true; break;
                default:
                    if (o.StartsWith("mode=", StringComparison.Ordinal))
                    {
                        try { mode = Convert.ToUInt32(o[5..], 8); } catch (FormatException) { } catch (OverflowException) { }
                    }
                    else if (o.StartsWith("size=", StringComparison.Ordinal))
                    {
                        size = TmpfsFileSystem.ParseSize(o[5..]);
                    }
                    else if (o.StartsWith("nr_inodes=", StringComparison.Ordinal))
                    {
                        inodes = TmpfsFileSystem.ParseInodes(o[10..]);
                    }
                    break;
            }
        }
        return flags;
    }

    private void MountOne(StateFile.Oci.Mount m, GoferClient gofer)
    {
        Mount? mounted = null;
        string dest = NormalizeDestination(m.Destination);
        var flags = ParseOptions(m.Options, out bool bind, out uint mode, out long? size, out long? inodes);
        string type = m.Type ?? (bind ? "bind" : "none");
        if (bind || type == "bind")
        {
            int err = GoferFileSystem.Attach(gofer, dest, out var fs);
            if (err != 0) { MountWarnings.Add($"bind mount {dest}: attach failed ({-err})"); return; }
            // The source of a bind mount is a host path: /proc/PID/mounts and mountinfo show
            // "none", as gVisor does (runc shows the host device and, as mountinfo's root, the
            // host directory).
            if (MountSpecial(dest, fs!, flags, "none") is Mount bindMount)
            {
                // mountinfo's root: runc shows the host source directory there, which would tell
                // the container where it lives on the host; only its last component is shown
                // ("/data" for /srv/vol/data), which tools that match a bind mount by its source's
                // name (the OCI suite) read (docs/SECURITY.md). Binds made inside the sandbox with
                // mount(2) show their source path, as Linux does.
                if (m.Source is { Length: > 0 } src && Path.GetFileName(src.TrimEnd('/')) is { Length: > 0 } name)
                    bindMount.ShownRoot = "/" + name;
                ApplyMountPropagation(bindMount, m.Options);
            }
            return;
        }
        switch (type)
        {
            case "tmpfs":
                {
                    uint modeOption = mode;
                    // Without mode=, runc gives the tmpfs the mode of the directory it covers
                    // (tmpfs's own default, 1777, only when there is none).
                    if (mode == 0 && ResolveAbsolute(dest, out var covered) == 0 && covered.Inode.IsDirectory)
                        mode = covered.Inode.Attr.Mode & LinuxMode.PermMask;
                    var fs = dest == "/dev"
                        ? DevFileSystem.Create()
                        : new TmpfsFileSystem(LinuxMode.S_IFDIR | (mode != 0 ? mode & LinuxMode.PermMask : 0x3ff));
                    if (size is long limit && limit > 0) fs.SizeLimit = limit;
                    if (inodes is long inodeLimit && inodeLimit > 0) fs.InodeLimit = inodeLimit;
                    if (modeOption != 0) fs.ModeOption = modeOption & LinuxMode.PermMask;
                    mounted = MountSpecial(dest, fs, flags, m.Source ?? "tmpfs");
                    break;
                }
            case "proc":
                mounted = MountSpecial(dest, new ProcFileSystem(this), flags, "proc");
                break;
            case "sysfs":
                mounted = MountSpecial(dest, SysFileSystem.Create(), flags | MountFlags.ReadOnly, "sysfs");
                break;
            case "devpts":
                DevptsFileSystem.Instance.SetShownOptions(m.Options);
                mounted = MountSpecial(dest, DevptsFileSystem.Instance, flags, "devpts");
                break;
            case "mqueue":
                mounted = MountSpecial(dest, new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x3ff, typeName: "mqueue"), flags, "mqueue");
                break;
            case "cgroup":
            case "cgroup2":
                MountCgroups(dest, type, flags | MountFlags.ReadOnly);
                break;
            default:
                MountWarnings.Add($"mount {dest}: type {type} is not supported, skipped");
                break;
        }
        if (mounted != null) ApplyMountPropagation(mounted, m.Options);
    }

    /// <summary>A mount's propagation option (the last one given wins, as runc applies them in order).</summary>
    private void ApplyMountPropagation(Mount mount, List<string>? options)
    {
        foreach (string o in options ?? new List<string>())
            if (PropagationOf(o) is MountPropagation t) SetPropagation(mount, t, recursive: o.StartsWith('r'));
    }

    /// <summary>
    /// A cgroup mount shows the sandbox's cgroups read-only, as runc shows a container its own
    /// (cgroup namespace): on a v2 host the unified directory; on a v1 host a tmpfs with one
    /// directory per hierarchy ("cpu,cpuacct" with links "cpu" and "cpuacct", "systemd" for
    /// name=systemd). Without a host cgroup view, an empty directory.
    /// </summary>
    private void MountCgroups(string dest, string type, MountFlags flags)
    {
        var hierarchies = Cgroup.HostCgroups.Hierarchies;
        if (Cgroup.HostCgroups.Unified && hierarchies[0].ViewPath != null)
        {
            MountSpecial(dest, new Cgroup.HostCgroupFileSystem(hierarchies[0].ViewPath!, unified: true, ""), flags, "cgroup2");
            return;
        }
        var mounted = hierarchies.Where(h => h.Id != 0 && h.Mounted).OrderBy(h => h.MountOrder).ToList();
        if (mounted.Count == 0)
        {
            MountSpecial(dest, new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x1ed, typeName: type), flags, type);
            return;
        }
        var top = new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x1ed) { ModeOption = 0x1ed };
        foreach (var h in mounted)
        {
            top.RootInode.AddChild(h.DirectoryName, new TmpfsInode(top, LinuxMode.S_IFDIR | 0x1ed, 0, 0));
            if (h.Controllers.Contains(','))
                foreach (string c in h.Controllers.Split(','))
                    if (c != h.DirectoryName) top.RootInode.AddSymlink(c, h.DirectoryName);
        }
        // As runc's: the tmpfs itself stays writable, the hierarchies below are read-only.
        MountSpecial(dest, top, flags & ~MountFlags.ReadOnly, "tmpfs");
        foreach (var h in mounted)
        {
            FileSystem view = h.ViewPath != null
                ? new Cgroup.HostCgroupFileSystem(h.ViewPath, unified: false, h.Controllers)
                : new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x1ed, typeName: "cgroup");
            MountSpecial(dest.TrimEnd('/') + "/" + h.DirectoryName, view, flags, "cgroup");
        }
    }

    /// <summary>Mounts <paramref name="fs"/> at absolute <paramref name="dest"/>, creating the mount point directory if it is missing.</summary>
    private Mount? MountSpecial(string dest, FileSystem fs, MountFlags flags, string source)
    {
        int err = ResolveAbsolute(dest, out var at);
        if (err == -Errno.ENOENT) err = MakeMountPoint(dest, out at);
        if (err != 0) { MountWarnings.Add($"mount {dest}: mount point unusable ({-err})"); return null; }
        if (!at.Inode.IsDirectory && LinuxMode.IsDir(fs.Root.Mode)) { MountWarnings.Add($"mount {dest}: not a directory"); return null; }
        return MountAt(at, fs, flags, source);
    }

    private static readonly TmpfsFileSystem s_mountPoints = new(LinuxMode.S_IFDIR | 0x1ed);

    private int MakeMountPoint(string dest, out VfsPath at)
    {
        var root = BuildRoot;
        at = root;
        var cur = root;
        foreach (var part in dest.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            int err = LookupChild(Kernel.Credentials.Root, root, cur, part, out var next);
            if (err == -Errno.ENOENT)
            {
                Inode? child = null;
                if (!cur.Mount.ReadOnly) err = cur.Inode.Mkdir(null!, part, 0x1ed, out child);
                if (cur.Mount.ReadOnly || err != 0)
                {
                    // A read-only root without the directory (e.g. /sys): the mount point lives
                    // only in the Sentry's dentry cache, as runsc's mount points do.
                    child = new TmpfsInode(s_mountPoints, LinuxMode.S_IFDIR | 0x1ed, 0, 0);
                }
                next = CrossMounts(new VfsPath(cur.Mount, cur.Dentry.AddChild(part, child!)));
            }
            else if (err != 0) return err;
            cur = next;
        }
        at = cur;
        return 0;
    }
}
