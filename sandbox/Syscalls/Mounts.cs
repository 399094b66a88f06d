using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Proc;
using RunscNet.Sentry.Vfs.Tmpfs;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// mount(2) and umount2(2) inside the sandbox: they change the Sentry's mount table only (no host
/// mount is ever made). Semantics implemented (mount(2), umount(2), mount_namespaces(7)):
/// - both need CAP_SYS_ADMIN (EPERM); the target is resolved following symlinks (umount2's
///   UMOUNT_NOFOLLOW: not the last one);
/// - MS_REMOUNT changes the flags of the mount whose root the target is (EINVAL otherwise);
///   flags not given are cleared; a locked mount (maskedPaths, readonlyPaths) cannot lose
///   read-only, nosuid, nodev or noexec (EPERM);
/// - MS_BIND (MS_REC: with the mounts below) attaches the source's tree at the target; the
///   other flags are ignored; an unbindable source gives EINVAL, and so does a plain bind whose
///   source has locked mounts below it (they would be bypassed); a file binds only on a file and
///   a directory on a directory (ENOTDIR);
/// - MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE (exactly one, with MS_REC for the whole
///   subtree) change the target mount's propagation (EINVAL on a non-root target);
/// - a new mount of type tmpfs (size=, nr_inodes=, mode=), proc, sysfs, mqueue or devpts; other
///   types ENODEV; a new proc or sysfs while the existing one has locked masks is EPERM (Linux's
///   mount_too_revealing);
/// - MS_MOVE is not implemented (EINVAL).
/// - umount2: MNT_FORCE is accepted and ignored, MNT_DETACH detaches lazily, MNT_EXPIRE gives
///   EAGAIN on its first call (as for a mount that was in use) and EINVAL with the other two;
///   unknown flags EINVAL; a target that is not a mount root, the root mount or a locked mount
///   EINVAL; a mount with other mounts below it EBUSY unless MNT_DETACH.
/// </summary>
internal static class MountSyscalls
{
    private const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_BIND = 4096,
        MS_MOVE = 8192, MS_REC = 16384, MS_UNBINDABLE = 1 << 17, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19,
        MS_SHARED = 1 << 20, MS_STRICTATIME = 1 << 24, MS_MGC_MSK = 0xffff0000, MS_MGC_VAL = 0xC0ED0000;
    private const ulong PropagationFlags = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
    private const int MNT_FORCE = 1, MNT_DETACH = 2, MNT_EXPIRE = 4, UMOUNT_NOFOLLOW = 8;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(165, "mount", Mount, "bind/rbind, remount, propagation types, tmpfs/proc/sysfs/mqueue/devpts in the Sentry's mount table; no MS_MOVE.");
        t.Supported(166, "umount2", Umount2);
    }

    private static long Mount(Task t, in SyscallArguments a)
    {
        ulong flags = a.A3;
        if ((flags & MS_MGC_MSK) == MS_MGC_VAL) flags &= ~MS_MGC_MSK;
        if (!t.Credentials.HasCapability(Permissions.CAP_SYS_ADMIN)) return -Errno.EPERM;
        int err = FileSyscalls.Path(t, a.A1, out string target);
        if (err != 0) return err;
        var vfs = t.Kernel.Vfs;
        err = vfs.ResolveAt(t, PathConsts.AT_FDCWD, target, followFinal: true, allowEmpty: false, out var at);
        if (err != 0) return err;
        bool atRoot = at.Dentry == at.Mount.Root;

        if ((flags & MS_REMOUNT) != 0)
        {
            if (!atRoot) return -Errno.EINVAL;
            var newFlags = FlagsOf(flags);
            if (at.Mount.Locked && (at.Mount.Flags & ~newFlags & (MountFlags.ReadOnly | MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec)) != 0)
                return -Errno.EPERM;
            at.Mount.Flags = newFlags;
            return 0;
        }
        if ((flags & MS_BIND) != 0)
        {
            err = FileSyscalls.Path(t, a.A0, out string sourcePath);
            if (err != 0) return err;
            err = vfs.ResolveAt(t, PathConsts.AT_FDCWD, sourcePath, followFinal: true, allowEmpty: false, out var source);
            if (err != 0) return err;
            if (source.Mount.Propagation == MountPropagation.Unbindable) return -Errno.EINVAL;
            bool recursive = (flags & MS_REC) != 0;
            if (!recursive && vfs.HasLockedChildren(source)) return -Errno.EINVAL;
            if (source.Inode.IsDirectory != at.Inode.IsDirectory) return -Errno.ENOTDIR;
            vfs.BindTree(at, source, recursive);
            return 0;
        }
        if ((flags & PropagationFlags) != 0)
        {
            ulong type = flags & PropagationFlags;
            if ((type & (type - 1)) != 0) return -Errno.EINVAL;   // exactly one
            if (!atRoot) return -Errno.EINVAL;
            var propagation = type switch
            {
                MS_SHARED => MountPropagation.Shared,
                MS_SLAVE => MountPropagation.Slave,
                MS_UNBINDABLE => MountPropagation.Unbindable,
                _ => MountPropagation.Private,
            };
            vfs.SetPropagation(at.Mount, propagation, (flags & MS_REC) != 0);
            return 0;
        }
        if ((flags & MS_MOVE) != 0) return -Errno.EINVAL;
        return NewMount(t, vfs, at, flags, a.A2, a.A4);
    }

    private static MountFlags FlagsOf(ulong flags)
    {
        var f = MountFlags.None;
        if ((flags & MS_RDONLY) != 0) f |= MountFlags.ReadOnly;
        if ((flags & MS_NOSUID) != 0) f |= MountFlags.NoSuid;
        if ((flags & MS_NODEV) != 0) f |= MountFlags.NoDev;
        if ((flags & MS_NOEXEC) != 0) f |= MountFlags.NoExec;
        if ((flags & MS_STRICTATIME) != 0) f |= MountFlags.StrictAtime;
        return f;
    }

    private static long NewMount(Task t, VirtualFileSystem vfs, VfsPath at, ulong flags, ulong typeAddr, ulong dataAddr)
    {
        int err = t.Memory.CopyInString(typeAddr, 256, out string type);
        if (err != 0) return err;
        string data = "";
        if (dataAddr != 0)
        {
            err = t.Memory.CopyInString(dataAddr, 4096, out data);
            if (err != 0) return err;
        }
        if (!at.Inode.IsDirectory) return -Errno.ENOTDIR;
        var mountFlags = FlagsOf(flags);
        FileSystem fs;
        string source = type;
        switch (type)
        {
            case "tmpfs":
                {
                    uint? mode = null;
                    long? size = null, inodes = null;
                    foreach (string option in data.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (option.StartsWith("size=", StringComparison.Ordinal)) size = TmpfsFileSystem.ParseSize(option[5..]);
                        else if (option.StartsWith("nr_inodes=", StringComparison.Ordinal)) inodes = TmpfsFileSystem.ParseInodes(option[10..]);
                        else if (option.StartsWith("mode=", StringComparison.Ordinal))
                        {
                            try { mode = Convert.ToUInt32(option[5..], 8) & LinuxMode.PermMask; }
                            catch (Exception e) when (e is FormatException or OverflowException) { return -Errno.EINVAL; }
                        }
                    }
                    var tmpfs = new TmpfsFileSystem(LinuxMode.S_IFDIR | (mode ?? 0x3ff));
                    if (mode != null) tmpfs.ModeOption = mode;
                    if (size is long limit && limit > 0) tmpfs.SizeLimit = limit;
                    if (inodes is long n && n > 0) tmpfs.InodeLimit = n;
                    fs = tmpfs;
                    break;
                }
            case "proc":
                if (vfs.HasLockedMasks(m => m.FileSystem is ProcFileSystem)) return -Errno.EPERM;
                fs = new ProcFileSystem(vfs);
                break;
            case "sysfs":
                if (vfs.HasLockedMasks(m => m.FileSystem.TypeName == "sysfs")) return -Errno.EPERM;
                fs = SysFileSystem.Create();
                break;
            case "mqueue":
                fs = new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x3ff, typeName: "mqueue");
                break;
            case "devpts":
                fs = Vfs.Dev.DevptsFileSystem.Instance;
                break;
            default:
                return -Errno.ENODEV;
        }
        vfs.MountNew(at, fs, mountFlags, source);
        return 0;
    }

    private static long Umount2(Task t, in SyscallArguments a)
    {
        int flags = (int)a.A1;
        if ((flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) != 0) return -Errno.EINVAL;
        if ((flags & MNT_EXPIRE) != 0 && (flags & (MNT_FORCE | MNT_DETACH)) != 0) return -Errno.EINVAL;
        if (!t.Credentials.HasCapability(Permissions.CAP_SYS_ADMIN)) return -Errno.EPERM;
        int err = FileSyscalls.Path(t, a.A0, out string target);
        if (err != 0) return err;
        var vfs = t.Kernel.Vfs;
        err = vfs.ResolveAt(t, PathConsts.AT_FDCWD, target, followFinal: (flags & UMOUNT_NOFOLLOW) == 0, allowEmpty: false, out var at);
        if (err != 0) return err;
        if (at.Dentry != at.Mount.Root) return -Errno.EINVAL;
        if ((flags & MNT_EXPIRE) != 0) return at.Mount.Locked ? -Errno.EINVAL : -Errno.EAGAIN;
        return vfs.Unmount(at.Mount, (flags & MNT_DETACH) != 0);
    }
}
