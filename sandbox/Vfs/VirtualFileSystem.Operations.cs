using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Inotify;

namespace RunscNet.Sentry.Vfs;

internal sealed partial class VirtualFileSystem
{
    /// <summary>
    /// open(2)/openat(2): resolves <paramref name="path"/> relative to <paramref name="dirfd"/>,
    /// creating it with O_CREAT (mode masked by the umask), honouring O_EXCL, O_NOFOLLOW (ELOOP on
    /// a final symlink), O_DIRECTORY (ENOTDIR), O_TRUNC, O_PATH, EISDIR for writing a directory,
    /// EROFS on read-only mounts and permission checks. Returns 0 and a new description (one
    /// reference, owned by the caller) or -errno.
    /// </summary>
    public int Open(Task task, int dirfd, string path, int flags, uint mode, out FileDescription? file)
    {
        file = null;
        if ((flags & OpenFlags.O_TMPFILE) == OpenFlags.O_TMPFILE) return -Errno.EOPNOTSUPP;
        if (path.Length == 0) return -Errno.ENOENT;
        bool isPath = (flags & OpenFlags.O_PATH) != 0;
        if (isPath) flags &= OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0;
        VfsPath loc;
        int err;
        if ((flags & OpenFlags.O_CREAT) != 0 && !isPath)
        {
            if ((flags & OpenFlags.O_DIRECTORY) != 0) return -Errno.EINVAL;
            err = ResolveParent(task, dirfd, path, out var parent, out string name, out bool slash);
            if (err != 0) return err;
            if (name.Length == 0 || name == "." || name == ".." || slash) return -Errno.EISDIR;
            err = LookupChild(task, parent, name, out var existing);
            if (err == -Errno.ENOENT)
            {
                err = CheckCreate(task, parent);
                if (err != 0) return err;
                uint m = (mode & ~(uint)task.Fs.Umask) & LinuxMode.PermMask;
                int openFlags = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC);
                err = parent.Inode.Create(task, name, m, openFlags, out var child, out file);
                if (err != 0) return err;
                var d = parent.Dentry.AddChild(name, child!);
                file!.Location = new VfsPath(parent.Mount, d);
                file.StatusFlags = openFlags | OpenFlags.O_LARGEFILE;
                FsNotify.Created(parent, name, child!);
                FsNotify.Opened(file);
                return 0;
            }
            if (err != 0) return err;
            if ((flags & OpenFlags.O_EXCL) != 0) return -Errno.EEXIST;
            loc = existing;
            if (loc.Inode.IsSymlink)
            {
                if (!follow) return -Errno.ELOOP;
                err = Resolve(task, parent, name, followFinal: true, out loc);
                if (err != 0) return err;
            }
        }
        else
        {
            err = ResolveAt(task, dirfd, path, follow, allowEmpty: false, out loc);
            if (err != 0) return err;
        }
        return OpenLocation(task, loc, flags, out file);
    }

    /// <summary>Opens an already resolved location with open(2)'s checks (everything but O_CREAT).</summary>
    public int OpenLocation(Task task, VfsPath loc, int flags, out FileDescription? file)
    {
        file = null;
        var inode = loc.Inode;
        int statusFlags = (flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC)) | OpenFlags.O_LARGEFILE;
        if ((flags & OpenFlags.O_PATH) != 0)
        {
            if ((flags & OpenFlags.O_DIRECTORY) != 0 && !inode.IsDirectory) return -Errno.ENOTDIR;
            file = new PathFile(loc, statusFlags);
            return 0;
        }
        if (inode.IsSymlink) return -Errno.ELOOP;
        if ((flags & OpenFlags.O_DIRECTORY) != 0 && !inode.IsDirectory) return -Errno.ENOTDIR;
        int acc = flags & OpenFlags.O_ACCMODE;
        if (acc == 3) return -Errno.EINVAL;
        bool write = acc != OpenFlags.O_RDONLY;
        bool trunc = (flags & OpenFlags.O_TRUNC) != 0 && LinuxMode.IsReg(inode.Mode);
        if (inode.IsDirectory && (write || (flags & OpenFlags.O_TRUNC) != 0)) return -Errno.EISDIR;
        int may = (acc != OpenFlags.O_WRONLY ? Permissions.MayRead : 0) | (write || trunc ? Permissions.MayWrite : 0);
        int err = Permissions.Check(task.Credentials, inode.Attr, may);
        if (err != 0) return err;
        uint type = inode.Mode & LinuxMode.S_IFMT;
        // The device cgroup's list, after the permission bits and before nodev, as may_open.
        if (inode is not AnonymousFileInode)
        {
            err = DeviceRules.Check(inode.Mode, inode.Attr.Rdev, (acc != OpenFlags.O_WRONLY ? Dev.DeviceAccessRules.Read : 0) | (write ? Dev.DeviceAccessRules.Write : 0));
            if (err != 0) return err;
        }
        if ((write || trunc) && loc.Mount.ReadOnly && (type == LinuxMode.S_IFREG || type == LinuxMode.S_IFDIR)) return -Errno.EROFS;
        if ((type == LinuxMode.S_IFCHR || type == LinuxMode.S_IFBLK) && (loc.Mount.Flags & MountFlags.NoDev) != 0 && inode is not AnonymousFileInode) return -Errno.EACCES;
        if (inode.IsDirectory)
        {
            file = new DirectoryFile(loc, statusFlags);
            FsNotify.Opened(file);
            return 0;
        }
        if (trunc && write)
        {
            var r = new SetAttrRequest { Mask = SetAttrMask.Size, Size = 0 };
            err = inode.SetAttr(r);
            if (err != 0) return err;
        }
        err = inode.Open(task, statusFlags, out file);
        if (err != 0) return err;
        file!.Location ??= loc;
        file.StatusFlags = statusFlags;
        // A session leader without a controlling terminal takes a pty it opens without O_NOCTTY.
        if ((flags & OpenFlags.O_NOCTTY) == 0 && inode is Dev.TerminalInode terminal) terminal.OpenedWithoutNoctty(task, file);
        FsNotify.Opened(file);
        if (trunc && write) FsNotify.AttributesChanged(loc, SetAttrMask.Size | SetAttrMask.MtimeNow);
        return 0;
    }

    /// <summary>Checks that a new name may be created in <paramref name="parent"/>: write+search permission, writable mount.</summary>
    private static int CheckCreate(Task task, VfsPath parent)
    {
        if (parent.Dentry.Dead) return -Errno.ENOENT;
        int err = Permissions.Check(task.Credentials, parent.Inode.Attr, Permissions.MayWrite | Permissions.MayExec);
        if (err != 0) return err;
        return parent.Mount.ReadOnly ? -Errno.EROFS : 0;
    }

    /// <summary>Resolves the parent for a create call and checks the name does not exist (EEXIST).</summary>
    private int PrepareCreate(Task task, int dirfd, string path, out VfsPath parent, out string name, bool allowSlash)
    {
        int err = ResolveParent(task, dirfd, path, out parent, out name, out bool slash);
        if (err != 0) return err;
        if (name.Length == 0 || name == "." || name == "..") return -Errno.EEXIST;
        if (slash && !allowSlash) return -Errno.ENOENT;
        err = LookupChild(task, parent, name, out _);
        if (err == 0) return -Errno.EEXIST;
        if (err != -Errno.ENOENT) return err;
        return CheckCreate(task, parent);
    }

    /// <summary>mkdir(2)/mkdirat(2): mode masked by the umask.</summary>
    public int Mkdir(Task task, int dirfd, string path, uint mode)
    {
        int err = PrepareCreate(task, dirfd, path, out var parent, out string name, allowSlash: true);
        if (err != 0) return err;
        err = parent.Inode.Mkdir(task, name, (mode & ~(uint)task.Fs.Umask) & (LinuxMode.PermMask & ~(LinuxMode.S_ISUID | LinuxMode.S_ISGID)), out var child);
        if (err != 0) return err;
        parent.Dentry.AddChild(name, child!);
        FsNotify.Created(parent, name, child!);
        return 0;
    }

    /// <summary>mknod(2)/mknodat(2): regular files, FIFOs, sockets; device nodes need CAP_MKNOD.</summary>
    public int Mknod(Task task, int dirfd, string path, uint mode, ulong dev)
    {
        uint type = mode & LinuxMode.S_IFMT;
        if (type == 0) type = LinuxMode.S_IFREG;
        switch (type)
        {
            case LinuxMode.S_IFREG:
            case LinuxMode.S_IFIFO:
            case LinuxMode.S_IFSOCK:
                break;
            case LinuxMode.S_IFCHR:
            case LinuxMode.S_IFBLK:
                break;
            case LinuxMode.S_IFDIR:
                return -Errno.EPERM;
            default:
                return -Errno.EINVAL;
        }
        int err = PrepareCreate(task, dirfd, path, out var parent, out string name, allowSlash: false);
        if (err != 0) return err;
        // As vfs_mknod: after the name's checks (EEXIST, EROFS, EACCES), CAP_MKNOD for device
        // nodes, except the 0:0 character device (an overlay whiteout).
        bool whiteout = type == LinuxMode.S_IFCHR && dev == 0;
        if (type is LinuxMode.S_IFCHR or LinuxMode.S_IFBLK && !whiteout && !task.Credentials.HasCapability(Permissions.CAP_MKNOD))
            return -Errno.EPERM;
        err = DeviceRules.Check(type, dev, Dev.DeviceAccessRules.Mknod);
        if (err != 0) return err;
        err = parent.Inode.Mknod(task, name, type | ((mode & ~(uint)task.Fs.Umask) & LinuxMode.PermMask), dev, out var child);
        if (err != 0) return err;
        parent.Dentry.AddChild(name, child!);
        FsNotify.Created(parent, name, child!);
        return 0;
    }

    /// <summary>Creates a socket file at <paramref name="path"/> for bind(2) on an AF_UNIX path (EADDRINUSE if it exists).</summary>
    public int BindSocketPath(Task task, int dirfd, string path, uint mode, object socket, out VfsPath location)
    {
        location = default;
        int err = PrepareCreate(task, dirfd, path, out var parent, out string name, allowSlash: false);
        if (err == -Errno.EEXIST) return -Errno.EADDRINUSE;
        if (err != 0) return err;
        err = parent.Inode.Mknod(task, name, LinuxMode.S_IFSOCK | ((mode & ~(uint)task.Fs.Umask) & LinuxMode.PermMask), 0, out var child);
        if (err != 0) return err;
        child!.BoundSocket = socket;
        location = new VfsPath(parent.Mount, parent.Dentry.AddChild(name, child));
        FsNotify.Created(parent, name, child);
        return 0;
    }

    /// <summary>symlink(2)/symlinkat(2).</summary>
    public int Symlink(Task task, string target, int dirfd, string path)
    {
        if (target.Length == 0) return -Errno.ENOENT;
        int err = PrepareCreate(task, dirfd, path, out var parent, out string name, allowSlash: false);
        if (err != 0) return err;
        err = parent.Inode.Symlink(task, name, target, out var child);
        if (err != 0) return err;
        parent.Dentry.AddChild(name, child!);
        FsNotify.Created(parent, name, child!);
        return 0;
    }

    /// <summary>link(2)/linkat(2): directories give EPERM; mounts must match (EXDEV).</summary>
    public int Link(Task task, int olddirfd, string oldpath, int newdirfd, string newpath, int flags)
    {
        if ((flags & ~(PathConsts.AT_SYMLINK_FOLLOW | PathConsts.AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        int err = ResolveAt(task, olddirfd, oldpath, (flags & PathConsts.AT_SYMLINK_FOLLOW) != 0, (flags & PathConsts.AT_EMPTY_PATH) != 0, out var old);
        if (err != 0) return err;
        if (old.Inode.IsDirectory) return -Errno.EPERM;
        err = PrepareCreate(task, newdirfd, newpath, out var parent, out string name, allowSlash: false);
        if (err != 0) return err;
        if (parent.Mount != old.Mount) return -Errno.EXDEV;
        err = parent.Inode.Link(task, name, old.Inode);
        if (err != 0) return err;
        parent.Dentry.AddChild(name, old.Inode);
        FsNotify.Linked(parent, name, old.Inode);
        return 0;
    }

    /// <summary>unlink(2)/unlinkat(2) (EISDIR for directories) and rmdir(2) (ENOTDIR, ENOTEMPTY, EBUSY at mount points).</summary>
    public int Remove(Task task, int dirfd, string path, bool directory)
    {
        int err = ResolveParent(task, dirfd, path, out var parent, out string name, out bool slash);
        if (err != 0) return err;
        if (directory)
        {
            if (name.Length == 0) return -Errno.EBUSY;
            if (name == ".") return -Errno.EINVAL;
            if (name == "..") return -Errno.ENOTEMPTY;
        }
        else if (name.Length == 0 || name == "." || name == "..") return -Errno.EISDIR;
        err = LookupChild(task, parent, name, out var child);
        if (err != 0) return err;
        // LookupChild crossed mounts; look at the covered dentry itself.
        var d = parent.Dentry.CachedChild(name);
        Inode inode = d?.Inode ?? child.Inode;
        if (directory)
        {
            if (!inode.IsDirectory) return -Errno.ENOTDIR;
            if (d != null && d.MountCount > 0) return -Errno.EBUSY;
        }
        else
        {
            if (inode.IsDirectory) return -Errno.EISDIR;
            if (slash) return -Errno.ENOTDIR;
            if (d != null && d.MountCount > 0) return -Errno.EBUSY;   // a mount point (vfs_unlink)
        }
        err = CheckCreate(task, parent);
        if (err != 0) return err;
        err = Permissions.CheckSticky(task.Credentials, parent.Inode.Attr, inode.Attr);
        if (err != 0) return err;
        err = directory ? parent.Inode.Rmdir(task, name, inode) : parent.Inode.Unlink(task, name, inode);
        if (err != 0) return err;
        parent.Dentry.RemoveChild(name);
        FsNotify.Removed(parent, name, inode);
        return 0;
    }

    /// <summary>
    /// rename(2)/renameat2(2): RENAME_NOREPLACE (EEXIST), RENAME_EXCHANGE (both must exist: ENOENT;
    /// EINVAL with NOREPLACE or where the file system cannot swap), RENAME_WHITEOUT gives EINVAL;
    /// type rules (EISDIR, ENOTDIR, ENOTEMPTY), moving a directory into itself (EINVAL), mounts
    /// (EXDEV across, EBUSY for mount points).
    /// </summary>
    public int Rename(Task task, int olddirfd, string oldpath, int newdirfd, string newpath, uint flags)
    {
        const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2, RENAME_WHITEOUT = 4;
        if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) != 0) return -Errno.EINVAL;
        bool exchange = (flags & RENAME_EXCHANGE) != 0;
        if ((flags & RENAME_WHITEOUT) != 0 || (exchange && (flags & RENAME_NOREPLACE) != 0)) return -Errno.EINVAL;
        int err = ResolveParent(task, olddirfd, oldpath, out var oldParent, out string oldName, out bool oldSlash);
        if (err != 0) return err;
        if (oldName.Length == 0 || oldName == "." || oldName == "..") return -Errno.EBUSY;
        err = ResolveParent(task, newdirfd, newpath, out var newParent, out string newName, out bool newSlash);
        if (err != 0) return err;
        if (newName.Length == 0 || newName == "." || newName == "..") return -Errno.EBUSY;
        err = LookupChild(task, oldParent, oldName, out _);
        if (err != 0) return err;
        var oldD = oldParent.Dentry.CachedChild(oldName)!;
        if (oldD == null) return -Errno.ENOENT;
        var src = oldD.Inode;
        if ((oldSlash || newSlash) && !src.IsDirectory) return -Errno.ENOTDIR;
        if (oldParent.Mount != newParent.Mount) return -Errno.EXDEV;
        if (oldD.MountCount > 0) return -Errno.EBUSY;
        err = CheckCreate(task, oldParent);
        if (err != 0) return err;
        err = CheckCreate(task, newParent);
        if (err != 0) return err;
        err = Permissions.CheckSticky(task.Credentials, oldParent.Inode.Attr, src.Attr);
        if (err != 0) return err;
        // A directory may not move beneath itself.
        if (src.IsDirectory)
        {
            for (var p = newParent.Dentry; p != null; p = p.Parent)
                if (p == oldD) return -Errno.EINVAL;
        }
        Inode? replaced = null;
        err = LookupChild(task, newParent, newName, out _);
        if (err == 0)
        {
            var newD = newParent.Dentry.CachedChild(newName);
            replaced = newD?.Inode;
            if (replaced == src) return 0;
            if ((flags & RENAME_NOREPLACE) != 0) return -Errno.EEXIST;
            if (newD != null && newD.MountCount > 0) return -Errno.EBUSY;
            if (exchange && replaced != null)
            {
                if (newSlash && !replaced.IsDirectory) return -Errno.ENOTDIR;
                // Neither may end up beneath itself.
                if (replaced.IsDirectory)
                {
                    for (var p = oldParent.Dentry; p != null; p = p.Parent)
                        if (p == newD) return -Errno.EINVAL;
                }
                err = Permissions.CheckSticky(task.Credentials, newParent.Inode.Attr, replaced.Attr);
                if (err != 0) return err;
                err = oldParent.Inode.Exchange(task, oldName, src, newParent.Inode, newName, replaced);
                if (err != 0) return err;
                oldParent.Dentry.ExchangeChild(oldName, newParent.Dentry, newName);
                return 0;
            }
            if (replaced != null)
            {
                if (src.IsDirectory && !replaced.IsDirectory) return -Errno.ENOTDIR;
                if (!src.IsDirectory && replaced.IsDirectory) return -Errno.EISDIR;
                err = Permissions.CheckSticky(task.Credentials, newParent.Inode.Attr, replaced.Attr);
                if (err != 0) return err;
            }
        }
        else if (err != -Errno.ENOENT) return err;
        if (exchange) return -Errno.ENOENT;
        err = oldParent.Inode.Rename(task, oldName, src, newParent.Inode, newName, replaced);
        if (err != 0) return err;
        oldParent.Dentry.MoveChild(oldName, newParent.Dentry, newName);
        FsNotify.Renamed(oldParent, oldName, newParent, newName, src, replaced);
        return 0;
    }

    /// <summary>readlink(2)/readlinkat(2) (EINVAL if not a symlink).</summary>
    public int Readlink(Task task, int dirfd, string path, out string target)
    {
        target = "";
        int err = ResolveAt(task, dirfd, path, followFinal: false, allowEmpty: true, out var loc);
        if (err != 0) return err;
        if (!loc.Inode.IsSymlink) return -Errno.EINVAL;
        return loc.Inode.Readlink(task, out target);
    }

    /// <summary>
    /// Applies an attribute change with Linux's permission rules: chmod needs ownership
    /// (CAP_FOWNER) and drops S_ISGID for non-members; chown needs CAP_CHOWN (owners may change
    /// the group to one of theirs); truncate needs write permission; utimes to "now" needs
    /// ownership or write permission, explicit times need ownership. EROFS on read-only mounts.
    /// </summary>
    public int SetAttr(Task task, VfsPath loc, SetAttrRequest r)
    {
        var c = task.Credentials;
        var attr = loc.Inode.Attr;
        if (loc.Mount.ReadOnly) return -Errno.EROFS;
        if ((r.Mask & SetAttrMask.Mode) != 0)
        {
            if (!Permissions.IsOwner(c, attr)) return -Errno.EPERM;
            uint gid = (r.Mask & SetAttrMask.Gid) != 0 ? r.Gid : attr.Gid;
            if (!c.InGroup(gid) && !c.HasCapability(Permissions.CAP_FSETID)) r.Mode &= ~LinuxMode.S_ISGID;
        }
        if ((r.Mask & (SetAttrMask.Uid | SetAttrMask.Gid)) != 0)
        {
            // make_kuid: an id the container's user namespace does not map is no id at all.
            var userns = UserNamespace.Current;
            if ((r.Mask & SetAttrMask.Uid) != 0 && !userns.HasUid(r.Uid)) return -Errno.EINVAL;
            if ((r.Mask & SetAttrMask.Gid) != 0 && !userns.HasGid(r.Gid)) return -Errno.EINVAL;
            bool hasChown = c.HasCapability(Permissions.CAP_CHOWN) && Permissions.Mapped(attr);
            if ((r.Mask & SetAttrMask.Uid) != 0 && r.Uid != attr.Uid && !hasChown) return -Errno.EPERM;
            if ((r.Mask & SetAttrMask.Gid) != 0 && r.Gid != attr.Gid && !hasChown && !(c.Fsuid == attr.Uid && c.InGroup(r.Gid))) return -Errno.EPERM;
            if ((r.Mask & (SetAttrMask.Uid | SetAttrMask.Gid)) != 0 && !hasChown && c.Fsuid != attr.Uid) return -Errno.EPERM;
            // Changing ownership of a non-directory clears set-user-ID (and group-executable set-group-ID).
            if (!LinuxMode.IsDir(attr.Mode) && (attr.Mode & (LinuxMode.S_ISUID | LinuxMode.S_ISGID)) != 0 && (r.Mask & SetAttrMask.Mode) == 0)
            {
                uint m = attr.Mode & ~LinuxMode.S_ISUID;
                if ((attr.Mode & 0x8) != 0) m &= ~LinuxMode.S_ISGID;
                r.Mask |= SetAttrMask.Mode;
                r.Mode = m & LinuxMode.PermMask;
            }
        }
        if ((r.Mask & SetAttrMask.Size) != 0)
        {
            if (loc.Inode.IsDirectory) return -Errno.EISDIR;
            if (!LinuxMode.IsReg(attr.Mode)) return -Errno.EINVAL;
            int err = Permissions.Check(c, attr, Permissions.MayWrite);
            if (err != 0) return err;
        }
        if ((r.Mask & (SetAttrMask.Atime | SetAttrMask.Mtime)) != 0)
        {
            if (!Permissions.IsOwner(c, attr)) return -Errno.EPERM;
        }
        else if ((r.Mask & (SetAttrMask.AtimeNow | SetAttrMask.MtimeNow)) != 0)
        {
            if (!Permissions.IsOwner(c, attr) && Permissions.Check(c, attr, Permissions.MayWrite) != 0) return -Errno.EACCES;
        }
        int result = loc.Inode.SetAttr(r);
        if (result == 0) FsNotify.AttributesChanged(loc, r.Mask);
        return result;
    }

    /// <summary>access(2)/faccessat2(2): checks with the real uid/gid unless AT_EACCESS.</summary>
    public int Access(Task task, int dirfd, string path, int mode, int flags)
    {
        if ((mode & ~7) != 0) return -Errno.EINVAL;
        if ((flags & ~(PathConsts.AT_EACCESS | PathConsts.AT_SYMLINK_NOFOLLOW | PathConsts.AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        int err = ResolveAt(task, dirfd, path, (flags & PathConsts.AT_SYMLINK_NOFOLLOW) == 0, (flags & PathConsts.AT_EMPTY_PATH) != 0, out var loc);
        if (err != 0) return err;
        if (mode == 0) return 0;
        var c = task.Credentials;
        if ((flags & PathConsts.AT_EACCESS) == 0)
        {
            // access() uses the real ids; root's capabilities apply only when the real uid is 0.
            ulong caps = c.Uid == 0 ? c.PermittedCaps : 0;
            c = c with { Fsuid = c.Uid, Fsgid = c.Gid, EffectiveCaps = caps };
        }
        if ((mode & 2) != 0 && loc.Mount.ReadOnly && (LinuxMode.IsReg(loc.Inode.Mode) || loc.Inode.IsDirectory)) return -Errno.EROFS;
        return Permissions.Check(c, loc.Inode.Attr, mode);
    }
}
