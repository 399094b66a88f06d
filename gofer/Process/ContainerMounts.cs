using System.Globalization;
using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// Builds the container's file tree in the gofer's own mount namespace: the rootfs bound on
/// itself, each bind mount of the spec on its destination (resolved inside the rootfs), the
/// rootfs made read-only when asked, then pivot_root into it. Preconditions: the process is in a
/// mount namespace of its own (the runtime clones the gofer with CLONE_NEWNS) with CAP_SYS_ADMIN.
/// </summary>
internal static class ContainerMounts
{
    /// <summary>
    /// Cuts the gofer's mounts off from the host's so nothing done here propagates to the host:
    /// private, or slave (as runc's default rootfs propagation) when <paramref name="receiveFromHost"/>,
    /// so mounts the host makes later below a bind source (an `rslave` or `rshared` bind mount,
    /// Kubernetes' HostToContainer and Bidirectional propagation) still appear in the container.
    /// </summary>
    public static void Isolate(bool receiveFromHost)
    {
        if (receiveFromHost)
        {
            Check(Mounts.Mount(null, "/", null, Mounts.MS_REC | Mounts.MS_SLAVE), "make mounts slaves (mount --make-rslave /)");
            return;
        }
        Check(Mounts.Mount(null, "/", null, Mounts.MS_REC | Mounts.MS_PRIVATE), "make mounts private (mount --make-rprivate /)");
    }

    /// <summary>Binds <paramref name="rootfs"/> on itself (recursively), so it is a mount point pivot_root accepts.</summary>
    public static void BindRootfs(string rootfs)
    {
        Check(Mounts.Mount(rootfs, rootfs, null, Mounts.MS_BIND | Mounts.MS_REC), $"bind rootfs {rootfs}");
    }

    /// <summary>Mounts one planned bind mount inside <paramref name="rootfs"/>.</summary>
    public static void Bind(string rootfs, BindMountPlan plan, GoferLog log)
    {
        bool sourceIsDirectory;
        using (var sourceFd = new FileDescriptor(Files.OpenAt(PathConsts.AT_FDCWD, plan.Source, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC, 0)))
        {
            if (sourceFd.IsInvalid)
            {
                throw GoferSetupException.FromErrno($"bind mount source {plan.Source}", Files.Result(sourceFd.Number));
            }
            sourceIsDirectory = FileType(sourceFd.Number) == LinuxMode.S_IFDIR;
        }

        using var rootFd = new FileDescriptor(Files.OpenAt(PathConsts.AT_FDCWD, rootfs, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0));
        if (rootFd.IsInvalid)
        {
            throw GoferSetupException.FromErrno($"open rootfs {rootfs}", Files.Result(rootFd.Number));
        }
        using (var target = new FileDescriptor(InRootResolver.Open(rootFd.Number, plan.Destination, create: sourceIsDirectory)))
        {
            if (target.IsInvalid)
            {
                throw GoferSetupException.FromErrno($"mount point {plan.Destination} in {rootfs}", target.Number);
            }
            if ((FileType(target.Number) == LinuxMode.S_IFDIR) != sourceIsDirectory)
            {
                throw new GoferSetupException($"bind mount {plan.Source} on {plan.Destination}: one is a directory, the other is not");
            }
            ulong flags = Mounts.MS_BIND | (plan.Recursive ? Mounts.MS_REC : 0);
            Check(Mounts.Mount(plan.Source, ProcFdPath(target.Number), null, flags), $"bind mount {plan.Source} on {plan.Destination}");
        }

        // The old fd names the directory under the new mount; look the destination up again
        // to reach the mount itself for the remount and propagation changes.
        if (plan.Flags != 0 || plan.Propagation != 0)
        {
            using var mounted = new FileDescriptor(InRootResolver.Open(rootFd.Number, plan.Destination, create: null));
            if (mounted.IsInvalid)
            {
                throw GoferSetupException.FromErrno($"reopen mount {plan.Destination}", mounted.Number);
            }
            if (plan.Flags != 0)
            {
                Remount(ProcFdPath(mounted.Number), plan.Flags, plan.Destination);
            }
            if (plan.Propagation != 0)
            {
                Check(Mounts.Mount(null, ProcFdPath(mounted.Number), null, plan.Propagation), $"set propagation of {plan.Destination}");
            }
        }
        log.Write($"bind {plan.Source} on {plan.Destination} (flags 0x{plan.Flags:x}{(plan.Recursive ? ", recursive" : "")})");
    }

    /// <summary>
    /// Remounts the rootfs bind nodev (the gofer never opens device nodes; the Sentry serves
    /// /dev), and read-only when <paramref name="readOnly"/>, keeping flags the kernel locks.
    /// </summary>
    public static void RestrictRootfs(string rootfs, bool readOnly)
    {
        Remount(rootfs, Mounts.MS_NODEV | (readOnly ? Mounts.MS_RDONLY : 0), $"rootfs {rootfs}");
    }

    /// <summary>
    /// Mounts a procfs of the gofer's own pid namespace on /proc, read-only, with subset=pid (Linux
    /// 5.8; without it where refused): the /proc/self/fd the server keeps across pivot_root then
    /// leads to no host process (the runtime starts the gofer in a new pid namespace, whose only
    /// process it is) and to no system file (sysrq-trigger, kcore, /proc/sys) that the gofer's
    /// CAP_DAC_OVERRIDE could write. The mount leaves the gofer's tree with the old root; only
    /// the kept fd holds it.
    /// </summary>
    public static void MountOwnProc(GoferLog log)
    {
        const ulong flags = Mounts.MS_RDONLY | Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC;
        if (Mounts.MountWithData("proc", "/proc", "proc", flags, "subset=pid") == 0)
        {
            return;
        }
        log.Write("procfs subset=pid refused (" + Files.Result(-1) + "); mounting the whole procfs read-only");
        Check(Mounts.MountWithData("proc", "/proc", "proc", flags, null), "mount the gofer's own /proc");
    }

    /// <summary>
    /// pivot_root into <paramref name="rootfs"/> and detach the old root, leaving "/" as the
    /// container's tree and the cwd at "/".
    /// </summary>
    public static void PivotInto(string rootfs)
    {
        Check(Mounts.Chdir(rootfs), $"chdir {rootfs}");
        Check(Mounts.PivotRoot(".", "."), $"pivot_root {rootfs}");
        Check(Mounts.Unmount(".", Mounts.MNT_DETACH), "detach the old root");
        Check(Mounts.Chdir("/"), "chdir /");
    }

    /// <summary>
    /// MS_BIND|MS_REMOUNT with <paramref name="flags"/> plus the per-mount flags already set
    /// (nosuid, nodev, noexec, atime): a remount that would clear a locked flag fails with EPERM.
    /// </summary>
    private static unsafe void Remount(string target, ulong flags, string what)
    {
        StatFsBuffer fs;
        using (var fd = new FileDescriptor(Files.OpenAt(PathConsts.AT_FDCWD, target, OpenFlags.O_PATH | OpenFlags.O_CLOEXEC, 0)))
        {
            if (!fd.IsInvalid && Files.FStatFs(fd.Number, &fs) == 0)
            {
                if ((fs.Flags & Mounts.ST_NOSUID) != 0) flags |= Mounts.MS_NOSUID;
                if ((fs.Flags & Mounts.ST_NODEV) != 0) flags |= Mounts.MS_NODEV;
                if ((fs.Flags & Mounts.ST_NOEXEC) != 0) flags |= Mounts.MS_NOEXEC;
                if ((flags & (Mounts.MS_NOATIME | Mounts.MS_RELATIME | Mounts.MS_STRICTATIME)) == 0)
                {
                    if ((fs.Flags & Mounts.ST_NOATIME) != 0) flags |= Mounts.MS_NOATIME;
                    else if ((fs.Flags & Mounts.ST_RELATIME) != 0) flags |= Mounts.MS_RELATIME;
                }
                if ((fs.Flags & Mounts.ST_NODIRATIME) != 0) flags |= Mounts.MS_NODIRATIME;
            }
        }
        Check(Mounts.Mount(null, target, null, Mounts.MS_BIND | Mounts.MS_REMOUNT | flags), $"remount {what} (flags 0x{flags:x})");
    }

    private static unsafe uint FileType(int fd)
    {
        Statx sx;
        return Files.StatxAt(fd, "", PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW, Files.STATX_BASIC_STATS, &sx) == 0
            ? sx.Mode & LinuxMode.S_IFMT
            : 0;
    }

    private static string ProcFdPath(int fd) => "/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture);

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw GoferSetupException.FromErrno(what, Files.Result(-1));
        }
    }
}
