using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// Path system calls: stat family, access, readlink, cwd/chdir/chroot, creating and removing
/// names, rename, links, attributes (chmod/chown/utimes/truncate), umask, statfs, xattrs.
/// Each handler documents the man-page semantics it implements.
/// </summary>
internal static partial class PathSyscalls
{
    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(4, "stat", Stat);
        t.Supported(6, "lstat", Lstat);
        t.Supported(21, "access", Access);
        t.Supported(76, "truncate", Truncate);
        t.Supported(79, "getcwd", Getcwd);
        t.Supported(80, "chdir", Chdir);
        t.Supported(81, "fchdir", Fchdir);
        t.Supported(82, "rename", Rename);
        t.Supported(83, "mkdir", Mkdir);
        t.Supported(84, "rmdir", Rmdir);
        t.Supported(86, "link", Link);
        t.Supported(87, "unlink", Unlink);
        t.Supported(88, "symlink", Symlink);
        t.Supported(89, "readlink", Readlink);
        t.Supported(90, "chmod", Chmod);
        t.Supported(92, "chown", ChownPath);
        t.Supported(94, "lchown", Lchown);
        t.Supported(95, "umask", Umask);
        t.Supported(132, "utime", Utime);
        t.Supported(133, "mknod", Mknod);
        t.Supported(137, "statfs", Statfs);
        t.Supported(138, "fstatfs", Fstatfs);
        t.Supported(161, "chroot", Chroot);
        t.Partial(188, "setxattr", Setxattr, "Stored by tmpfs; other file systems refuse with EOPNOTSUPP.");
        t.Partial(189, "lsetxattr", Lsetxattr, "As setxattr.");
        t.Partial(190, "fsetxattr", Fsetxattr, "As setxattr.");
        t.Supported(191, "getxattr", Getxattr);
        t.Supported(192, "lgetxattr", Lgetxattr);
        t.Supported(193, "fgetxattr", Fgetxattr);
        t.Supported(194, "listxattr", Listxattr);
        t.Supported(195, "llistxattr", Llistxattr);
        t.Supported(196, "flistxattr", Flistxattr);
        t.Supported(197, "removexattr", Removexattr);
        t.Supported(198, "lremovexattr", Lremovexattr);
        t.Supported(199, "fremovexattr", Fremovexattr);
        t.Supported(235, "utimes", Utimes);
        t.Supported(258, "mkdirat", Mkdirat);
        t.Supported(259, "mknodat", Mknodat);
        t.Supported(260, "fchownat", Fchownat);
        t.Supported(261, "futimesat", Futimesat);
        t.Supported(262, "newfstatat", Newfstatat);
        t.Supported(263, "unlinkat", Unlinkat);
        t.Supported(264, "renameat", Renameat);
        t.Supported(265, "linkat", Linkat);
        t.Supported(266, "symlinkat", Symlinkat);
        t.Supported(267, "readlinkat", Readlinkat);
        t.Supported(268, "fchmodat", Fchmodat);
        t.Supported(269, "faccessat", Faccessat);
        t.Supported(280, "utimensat", Utimensat);
        t.Partial(316, "renameat2", Renameat2, "RENAME_WHITEOUT gives EINVAL; RENAME_EXCHANGE on tmpfs and gofer mounts.");
        t.Supported(332, "statx", Statx);
        t.Supported(439, "faccessat2", Faccessat2);
    }

    private const int AT_FDCWD = PathConsts.AT_FDCWD;

    // ---- stat ---------------------------------------------------------------------------

    private static long StatAt(Task t, int dirfd, ulong pathAddr, int flags, ulong statAddr)
    {
        if ((flags & ~(PathConsts.AT_SYMLINK_NOFOLLOW | PathConsts.AT_EMPTY_PATH | PathConsts.AT_NO_AUTOMOUNT)) != 0) return -Errno.EINVAL;
        int err = FileSyscalls.Path(t, pathAddr, out string path);
        if (err != 0) return err;
        err = StatPath(t, dirfd, path, flags, out var attr);
        if (err != 0) return err;
        return t.Memory.CopyOutStruct(statAddr, FileSyscalls.ToStat(attr));
    }

    /// <summary>
    /// The attributes a stat call reports: with an empty path and AT_EMPTY_PATH, those of the open
    /// file dirfd (pipes and sockets included, as glibc's fstat uses this form).
    /// </summary>
    private static int StatPath(Task t, int dirfd, string path, int flags, out InodeAttr attr)
    {
        attr = default;
        if (path.Length == 0 && (flags & PathConsts.AT_EMPTY_PATH) != 0 && dirfd != AT_FDCWD)
        {
            var f = t.Fds.Get(dirfd);
            return f == null ? -Errno.EBADF : f.Stat(out attr);
        }
        int err = t.Kernel.Vfs.ResolveAt(t, dirfd, path, (flags & PathConsts.AT_SYMLINK_NOFOLLOW) == 0, (flags & PathConsts.AT_EMPTY_PATH) != 0, out var loc);
        return err != 0 ? err : loc.Inode.Stat(out attr);
    }

    /// <summary>stat(2): follows symlinks.</summary>
    private static long Stat(Task t, in SyscallArguments a) => StatAt(t, AT_FDCWD, a.A0, 0, a.A1);

    /// <summary>lstat(2): does not follow a final symlink.</summary>
    private static long Lstat(Task t, in SyscallArguments a) => StatAt(t, AT_FDCWD, a.A0, PathConsts.AT_SYMLINK_NOFOLLOW, a.A1);

    /// <summary>newfstatat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (stat of dirfd itself), AT_NO_AUTOMOUNT.</summary>
    private static long Newfstatat(Task t, in SyscallArguments a) => StatAt(t, (int)a.A0, a.A1, (int)a.A3, a.A2);

    /// <summary>statx(2): fills the basic stats (STATX_BASIC_STATS) whatever the mask asks; EINVAL for bad flags.</summary>
    private static long Statx(Task t, in SyscallArguments a)
    {
        int dirfd = (int)a.A0;
        int flags = (int)a.A2;
        uint mask = (uint)a.A3;
        if ((flags & ~(PathConsts.AT_SYMLINK_NOFOLLOW | PathConsts.AT_EMPTY_PATH | PathConsts.AT_NO_AUTOMOUNT | 0x6000)) != 0) return -Errno.EINVAL;
        if ((flags & 0x6000) == 0x6000) return -Errno.EINVAL;
        if ((mask & 0x80000000u) != 0) return -Errno.EINVAL; // STATX__RESERVED
        int err = FileSyscalls.Path(t, a.A1, out string path);
        if (err != 0) return err;
        err = StatPath(t, dirfd, path, flags, out var s);
        if (err != 0) return err;
        var st = FileSyscalls.ToStat(s);
        var buf = new byte[256];
        var span = buf.AsSpan();
        BitConverter.TryWriteBytes(span[0..], 0x7ffu);
        BitConverter.TryWriteBytes(span[4..], (uint)st.Blksize);
        BitConverter.TryWriteBytes(span[16..], (uint)st.Nlink);
        BitConverter.TryWriteBytes(span[20..], st.Uid);
        BitConverter.TryWriteBytes(span[24..], st.Gid);
        BitConverter.TryWriteBytes(span[28..], (ushort)st.Mode);
        BitConverter.TryWriteBytes(span[32..], st.Ino);
        BitConverter.TryWriteBytes(span[40..], st.Size);
        BitConverter.TryWriteBytes(span[48..], st.Blocks);
        BitConverter.TryWriteBytes(span[64..], st.AtimeSec);
        BitConverter.TryWriteBytes(span[72..], (uint)st.AtimeNsec);
        BitConverter.TryWriteBytes(span[96..], st.CtimeSec);
        BitConverter.TryWriteBytes(span[104..], (uint)st.CtimeNsec);
        BitConverter.TryWriteBytes(span[112..], st.MtimeSec);
        BitConverter.TryWriteBytes(span[120..], (uint)st.MtimeNsec);
        BitConverter.TryWriteBytes(span[128..], Vfs.Dev.DeviceRegistry.Major(st.Rdev));
        BitConverter.TryWriteBytes(span[132..], Vfs.Dev.DeviceRegistry.Minor(st.Rdev));
        BitConverter.TryWriteBytes(span[136..], Vfs.Dev.DeviceRegistry.Major(st.Dev));
        BitConverter.TryWriteBytes(span[140..], Vfs.Dev.DeviceRegistry.Minor(st.Dev));
        return t.Memory.CopyOut(a.A4, buf);
    }

    // ---- access / readlink --------------------------------------------------------------

    private static long AccessAt(Task t, int dirfd, ulong pathAddr, int mode, int flags)
    {
        int err = FileSyscalls.Path(t, pathAddr, out string path);
        if (err != 0) return err;
        return t.Kernel.Vfs.Access(t, dirfd, path, mode, flags);
    }

    /// <summary>access(2): checks with the real uid/gid; F_OK only checks existence.</summary>
    private static long Access(Task t, in SyscallArguments a) => AccessAt(t, AT_FDCWD, a.A0, (int)a.A1, 0);

    /// <summary>faccessat(2): as access relative to dirfd (no flags argument in the system call).</summary>
    private static long Faccessat(Task t, in SyscallArguments a) => AccessAt(t, (int)a.A0, a.A1, (int)a.A2, 0);

    /// <summary>faccessat2(2): AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.</summary>
    private static long Faccessat2(Task t, in SyscallArguments a) => AccessAt(t, (int)a.A0, a.A1, (int)a.A2, (int)a.A3);

    private static long ReadlinkAt(Task t, int dirfd, ulong pathAddr, ulong buf, long size)
    {
        if (size <= 0) return -Errno.EINVAL;
        int err = FileSyscalls.Path(t, pathAddr, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.Readlink(t, dirfd, path, out string target);
        if (err != 0) return err;
        byte[] bytes = LinuxText.Encode(target);
        int n = (int)Math.Min(bytes.Length, size);
        err = t.Memory.CopyOut(buf, bytes.AsSpan(0, n));
        return err != 0 ? err : n;
    }

    /// <summary>readlink(2): the target, truncated to bufsiz, no NUL; EINVAL if not a symlink or bufsiz &lt;= 0.</summary>
    private static long Readlink(Task t, in SyscallArguments a) => ReadlinkAt(t, AT_FDCWD, a.A0, a.A1, (long)a.A2);

    /// <summary>readlinkat(2): empty path reads the link dirfd refers to (O_PATH|O_NOFOLLOW).</summary>
    private static long Readlinkat(Task t, in SyscallArguments a) => ReadlinkAt(t, (int)a.A0, a.A1, a.A2, (long)a.A3);

    // ---- cwd / root ---------------------------------------------------------------------

    /// <summary>getcwd(2): the path of the cwd with its NUL; ERANGE if it does not fit; returns the length.</summary>
    private static long Getcwd(Task t, in SyscallArguments a)
    {
        string cwd = t.Kernel.Vfs.PathOf(t.Fs.Cwd, t.Fs.Root);
        byte[] bytes = LinuxText.Encode(cwd + "\0");
        if ((ulong)bytes.Length > a.A1) return -Errno.ERANGE;
        int err = t.Memory.CopyOut(a.A0, bytes);
        return err != 0 ? err : bytes.Length;
    }

    private static int CheckDirectory(Task t, VfsPath loc)
    {
        if (!loc.Inode.IsDirectory) return -Errno.ENOTDIR;
        return Permissions.Check(t.Credentials, loc.Inode.Attr, Permissions.MayExec);
    }

    /// <summary>chdir(2): ENOTDIR for non-directories, EACCES without search permission.</summary>
    private static long Chdir(Task t, in SyscallArguments a)
    {
        int err = FileSyscalls.Path(t, a.A0, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.Resolve(t, t.Fs.Cwd, path, true, out var loc);
        if (err != 0) return err;
        err = CheckDirectory(t, loc);
        if (err != 0) return err;
        t.Fs.Cwd = loc;
        return 0;
    }

    /// <summary>fchdir(2).</summary>
    private static long Fchdir(Task t, in SyscallArguments a)
    {
        var f = FileSyscalls.File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if (f.Location is not { } loc) return -Errno.ENOTDIR;
        int err = CheckDirectory(t, loc);
        if (err != 0) return err;
        t.Fs.Cwd = loc;
        return 0;
    }

    /// <summary>chroot(2): needs CAP_SYS_CHROOT (EPERM); the cwd is left where it is, as on Linux.</summary>
    private static long Chroot(Task t, in SyscallArguments a)
    {
        if (!t.Credentials.HasCapability(Permissions.CAP_SYS_CHROOT)) return -Errno.EPERM;
        int err = FileSyscalls.Path(t, a.A0, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.Resolve(t, t.Fs.Cwd, path, true, out var loc);
        if (err != 0) return err;
        err = CheckDirectory(t, loc);
        if (err != 0) return err;
        t.Fs.Root = loc;
        return 0;
    }

    /// <summary>umask(2): sets the mask (mode &amp; 0777) and returns the previous one.</summary>
    private static long Umask(Task t, in SyscallArguments a) => t.Fs.SwapUmask((int)a.A0 & 0x1ff);

    // ---- creating and removing names ----------------------------------------------------

    private static long WithPath(Task t, ulong addr, Func<string, int> op)
    {
        int err = FileSyscalls.Path(t, addr, out string path);
        return err != 0 ? err : op(path);
    }

    /// <summary>mkdir(2): mode masked by the umask; EEXIST, ENOENT, ENOTDIR, EACCES, EROFS.</summary>
    private static long Mkdir(Task t, in SyscallArguments a) { uint m = (uint)a.A1; return WithPath(t, a.A0, p => t.Kernel.Vfs.Mkdir(t, AT_FDCWD, p, m)); }

    /// <summary>mkdirat(2).</summary>
    private static long Mkdirat(Task t, in SyscallArguments a) { int d = (int)a.A0; uint m = (uint)a.A2; return WithPath(t, a.A1, p => t.Kernel.Vfs.Mkdir(t, d, p, m)); }

    /// <summary>mknod(2): regular files, FIFOs, sockets; device nodes need CAP_MKNOD.</summary>
    private static long Mknod(Task t, in SyscallArguments a) { uint m = (uint)a.A1; ulong dev = a.A2; return WithPath(t, a.A0, p => t.Kernel.Vfs.Mknod(t, AT_FDCWD, p, m, dev)); }

    /// <summary>mknodat(2).</summary>
    private static long Mknodat(Task t, in SyscallArguments a) { int d = (int)a.A0; uint m = (uint)a.A2; ulong dev = a.A3; return WithPath(t, a.A1, p => t.Kernel.Vfs.Mknod(t, d, p, m, dev)); }

    /// <summary>rmdir(2): ENOTEMPTY, ENOTDIR, EBUSY for mount points and "/", EINVAL for ".".</summary>
    private static long Rmdir(Task t, in SyscallArguments a) => WithPath(t, a.A0, p => t.Kernel.Vfs.Remove(t, AT_FDCWD, p, true));

    /// <summary>unlink(2): EISDIR for directories; sticky-directory rule (EPERM).</summary>
    private static long Unlink(Task t, in SyscallArguments a) => WithPath(t, a.A0, p => t.Kernel.Vfs.Remove(t, AT_FDCWD, p, false));

    /// <summary>unlinkat(2): AT_REMOVEDIR acts as rmdir; other flags EINVAL.</summary>
    private static long Unlinkat(Task t, in SyscallArguments a)
    {
        int d = (int)a.A0;
        int flags = (int)a.A2;
        if ((flags & ~PathConsts.AT_REMOVEDIR) != 0) return -Errno.EINVAL;
        return WithPath(t, a.A1, p => t.Kernel.Vfs.Remove(t, d, p, (flags & PathConsts.AT_REMOVEDIR) != 0));
    }

    /// <summary>symlink(2).</summary>
    private static long Symlink(Task t, in SyscallArguments a) => SymlinkAt(t, a.A0, AT_FDCWD, a.A1);

    /// <summary>symlinkat(2).</summary>
    private static long Symlinkat(Task t, in SyscallArguments a) => SymlinkAt(t, a.A0, (int)a.A1, a.A2);

    private static long SymlinkAt(Task t, ulong targetAddr, int dirfd, ulong pathAddr)
    {
        int err = FileSyscalls.Path(t, targetAddr, out string target);
        if (err != 0) return err;
        return WithPath(t, pathAddr, p => t.Kernel.Vfs.Symlink(t, target, dirfd, p));
    }

    /// <summary>link(2): does not follow a symlink oldpath; EPERM for directories, EXDEV across mounts.</summary>
    private static long Link(Task t, in SyscallArguments a) => LinkAt(t, AT_FDCWD, a.A0, AT_FDCWD, a.A1, 0);

    /// <summary>linkat(2): AT_SYMLINK_FOLLOW, AT_EMPTY_PATH.</summary>
    private static long Linkat(Task t, in SyscallArguments a) => LinkAt(t, (int)a.A0, a.A1, (int)a.A2, a.A3, (int)a.A4);

    private static long LinkAt(Task t, int olddirfd, ulong oldAddr, int newdirfd, ulong newAddr, int flags)
    {
        int err = FileSyscalls.Path(t, oldAddr, out string oldPath);
        if (err != 0) return err;
        return WithPath(t, newAddr, p => t.Kernel.Vfs.Link(t, olddirfd, oldPath, newdirfd, p, flags));
    }

    /// <summary>rename(2).</summary>
    private static long Rename(Task t, in SyscallArguments a) => RenameAt(t, AT_FDCWD, a.A0, AT_FDCWD, a.A1, 0);

    /// <summary>renameat(2).</summary>
    private static long Renameat(Task t, in SyscallArguments a) => RenameAt(t, (int)a.A0, a.A1, (int)a.A2, a.A3, 0);

    /// <summary>renameat2(2): RENAME_NOREPLACE gives EEXIST if newpath exists.</summary>
    private static long Renameat2(Task t, in SyscallArguments a) => RenameAt(t, (int)a.A0, a.A1, (int)a.A2, a.A3, (uint)a.A4);

    private static long RenameAt(Task t, int olddirfd, ulong oldAddr, int newdirfd, ulong newAddr, uint flags)
    {
        int err = FileSyscalls.Path(t, oldAddr, out string oldPath);
        if (err != 0) return err;
        return WithPath(t, newAddr, p => t.Kernel.Vfs.Rename(t, olddirfd, oldPath, newdirfd, p, flags));
    }

    // ---- attributes ----------------------------------------------------------------------

    private static long SetAttrAt(Task t, int dirfd, ulong pathAddr, bool follow, bool allowEmpty, SetAttrRequest r)
    {
        int err = FileSyscalls.Path(t, pathAddr, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.ResolveAt(t, dirfd, path, follow, allowEmpty, out var loc);
        if (err != 0) return err;
        return t.Kernel.Vfs.SetAttr(t, loc, r);
    }

    private static SetAttrRequest ModeRequest(ulong mode) => new() { Mask = SetAttrMask.Mode, Mode = (uint)mode & LinuxMode.PermMask };

    /// <summary>chmod(2): owner or CAP_FOWNER (EPERM); S_ISGID dropped for non-members.</summary>
    private static long Chmod(Task t, in SyscallArguments a) => SetAttrAt(t, AT_FDCWD, a.A0, true, false, ModeRequest(a.A1));

    /// <summary>fchmodat(2): flags must be 0 (AT_SYMLINK_NOFOLLOW gives EOPNOTSUPP as on Linux).</summary>
    /// <summary>
    /// fchmodat(2): the system call has three arguments (dirfd, path, mode); the flags of the
    /// glibc wrapper are handled in user space (glibc leaves the fourth register undefined), so
    /// the path is always followed and never empty.
    /// </summary>
    private static long Fchmodat(Task t, in SyscallArguments a)
        => SetAttrAt(t, (int)a.A0, a.A1, true, false, ModeRequest(a.A2));

    /// <summary>The chown rules applied to a resolved location (uid/gid of -1 mean unchanged).</summary>
    internal static long Chown(Task t, VfsPath loc, uint uid, uint gid)
    {
        var r = new SetAttrRequest();
        if (uid != uint.MaxValue) { r.Mask |= SetAttrMask.Uid; r.Uid = uid; }
        if (gid != uint.MaxValue) { r.Mask |= SetAttrMask.Gid; r.Gid = gid; }
        if (r.Mask == SetAttrMask.None) return loc.Mount.ReadOnly ? -Errno.EROFS : 0;
        return t.Kernel.Vfs.SetAttr(t, loc, r);
    }

    private static long ChownAt(Task t, int dirfd, ulong pathAddr, uint uid, uint gid, int flags)
    {
        if ((flags & ~(PathConsts.AT_SYMLINK_NOFOLLOW | PathConsts.AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        int err = FileSyscalls.Path(t, pathAddr, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.ResolveAt(t, dirfd, path, (flags & PathConsts.AT_SYMLINK_NOFOLLOW) == 0, (flags & PathConsts.AT_EMPTY_PATH) != 0, out var loc);
        if (err != 0) return err;
        return Chown(t, loc, uid, gid);
    }

    /// <summary>chown(2): CAP_CHOWN to change the owner; owners may change the group to one they belong to.</summary>
    private static long ChownPath(Task t, in SyscallArguments a) => ChownAt(t, AT_FDCWD, a.A0, (uint)a.A1, (uint)a.A2, 0);

    /// <summary>lchown(2): does not follow a final symlink.</summary>
    private static long Lchown(Task t, in SyscallArguments a) => ChownAt(t, AT_FDCWD, a.A0, (uint)a.A1, (uint)a.A2, PathConsts.AT_SYMLINK_NOFOLLOW);

    /// <summary>fchownat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.</summary>
    private static long Fchownat(Task t, in SyscallArguments a) => ChownAt(t, (int)a.A0, a.A1, (uint)a.A2, (uint)a.A3, (int)a.A4);

    /// <summary>truncate(2): EISDIR for directories, EINVAL for a negative length, EACCES without write permission.</summary>
    private static long Truncate(Task t, in SyscallArguments a)
    {
        if ((long)a.A1 < 0) return -Errno.EINVAL;
        return SetAttrAt(t, AT_FDCWD, a.A0, true, false, new SetAttrRequest { Mask = SetAttrMask.Size, Size = (long)a.A1 });
    }

    private const long UTIME_NOW = (1L << 30) - 1, UTIME_OMIT = (1L << 30) - 2;

    /// <summary>Builds a time request from (sec, nsec) pairs; null times mean "now".</summary>
    private static int TimesRequest(long[]? times, out SetAttrRequest r)
    {
        r = new SetAttrRequest();
        if (times == null)
        {
            r.Mask = SetAttrMask.AtimeNow | SetAttrMask.MtimeNow;
            return 0;
        }
        for (int i = 0; i < 2; i++)
        {
            long sec = times[i * 2], nsec = times[i * 2 + 1];
            if (nsec == UTIME_OMIT) continue;
            if (nsec == UTIME_NOW) { r.Mask |= i == 0 ? SetAttrMask.AtimeNow : SetAttrMask.MtimeNow; continue; }
            if (nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
            if (i == 0) { r.Mask |= SetAttrMask.Atime; r.AtimeNs = sec * 1_000_000_000 + nsec; }
            else { r.Mask |= SetAttrMask.Mtime; r.MtimeNs = sec * 1_000_000_000 + nsec; }
        }
        return 0;
    }

    private static long UtimesAt(Task t, int dirfd, ulong pathAddr, long[]? times, int flags)
    {
        int err = TimesRequest(times, out var r);
        if (err != 0) return err;
        if (r.Mask == SetAttrMask.None) return 0;
        if (pathAddr == 0)
        {
            // utimensat(fd, NULL, ...) changes the file dirfd refers to.
            if (dirfd == AT_FDCWD) return -Errno.EFAULT;
            var f = t.Fds.Get(dirfd);
            if (f == null) return -Errno.EBADF;
            if (f.Location is not { } floc) return -Errno.EINVAL;
            return t.Kernel.Vfs.SetAttr(t, floc, r);
        }
        return SetAttrAt(t, dirfd, pathAddr, (flags & PathConsts.AT_SYMLINK_NOFOLLOW) == 0, (flags & PathConsts.AT_EMPTY_PATH) != 0, r);
    }

    private static int ReadTimeval(Task t, ulong addr, out long[]? times)
    {
        times = null;
        if (addr == 0) return 0;
        var raw = new long[4];
        var bytes = new byte[32];
        int err = t.Memory.CopyIn(addr, bytes);
        if (err != 0) return err;
        for (int i = 0; i < 4; i++) raw[i] = BitConverter.ToInt64(bytes, i * 8);
        if (raw[1] < 0 || raw[1] >= 1_000_000 || raw[3] < 0 || raw[3] >= 1_000_000) return -Errno.EINVAL;
        times = new[] { raw[0], raw[1] * 1000, raw[2], raw[3] * 1000 };
        return 0;
    }

    /// <summary>utimensat(2): UTIME_NOW/UTIME_OMIT, NULL times = now, NULL path = the fd, AT_SYMLINK_NOFOLLOW.</summary>
    private static long Utimensat(Task t, in SyscallArguments a)
    {
        int flags = (int)a.A3;
        if ((flags & ~(PathConsts.AT_SYMLINK_NOFOLLOW | PathConsts.AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        long[]? times = null;
        if (a.A2 != 0)
        {
            var bytes = new byte[32];
            int err = t.Memory.CopyIn(a.A2, bytes);
            if (err != 0) return err;
            times = new long[4];
            for (int i = 0; i < 4; i++) times[i] = BitConverter.ToInt64(bytes, i * 8);
        }
        return UtimesAt(t, (int)a.A0, a.A1, times, flags);
    }

    /// <summary>utimes(2): struct timeval[2]; NULL = now.</summary>
    private static long Utimes(Task t, in SyscallArguments a)
    {
        int err = ReadTimeval(t, a.A1, out var times);
        return err != 0 ? err : UtimesAt(t, AT_FDCWD, a.A0, times, 0);
    }

    /// <summary>futimesat(2): utimes relative to dirfd.</summary>
    private static long Futimesat(Task t, in SyscallArguments a)
    {
        int err = ReadTimeval(t, a.A2, out var times);
        return err != 0 ? err : UtimesAt(t, (int)a.A0, a.A1, times, 0);
    }

    /// <summary>utime(2): struct utimbuf {actime, modtime}; NULL = now.</summary>
    private static long Utime(Task t, in SyscallArguments a)
    {
        long[]? times = null;
        if (a.A1 != 0)
        {
            var bytes = new byte[16];
            int err = t.Memory.CopyIn(a.A1, bytes);
            if (err != 0) return err;
            times = new[] { BitConverter.ToInt64(bytes, 0), 0, BitConverter.ToInt64(bytes, 8), 0 };
        }
        return UtimesAt(t, AT_FDCWD, a.A0, times, 0);
    }

    // ---- statfs ---------------------------------------------------------------------------

    private static long CopyStatFs(Task t, VfsPath loc, ulong addr)
    {
        int err = loc.Inode.StatFs(out var s);
        if (err != 0) return err;
        var buf = new long[15];
        buf[0] = s.Type; buf[1] = s.BlockSize; buf[2] = s.Blocks; buf[3] = s.BlocksFree; buf[4] = s.BlocksAvailable;
        buf[5] = s.Files; buf[6] = s.FilesFree; buf[7] = (long)loc.Mount.FileSystem.DeviceId; buf[8] = s.NameLength;
        buf[9] = s.FragmentSize;
        long flags = s.Flags;
        if (loc.Mount.ReadOnly) flags |= 1;        // ST_RDONLY
        if ((loc.Mount.Flags & MountFlags.NoSuid) != 0) flags |= 2;
        if ((loc.Mount.Flags & MountFlags.NoDev) != 0) flags |= 4;
        if ((loc.Mount.Flags & MountFlags.NoExec) != 0) flags |= 8;
        buf[10] = flags | 0x20; // ST_VALID
        return t.Memory.CopyOut(addr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(buf.AsSpan()));
    }

    /// <summary>statfs(2): struct statfs of the file system holding path.</summary>
    private static long Statfs(Task t, in SyscallArguments a)
    {
        int err = FileSyscalls.Path(t, a.A0, out string path);
        if (err != 0) return err;
        err = t.Kernel.Vfs.Resolve(t, t.Fs.Cwd, path, true, out var loc);
        return err != 0 ? err : CopyStatFs(t, loc, a.A1);
    }

    /// <summary>fstatfs(2): EBADF; for anonymous files (pipes) a pipefs-like answer.</summary>
    private static long Fstatfs(Task t, in SyscallArguments a)
    {
        var f = FileSyscalls.File(t, a.A0);
        if (f == null) return -Errno.EBADF;
        if (f.Location is not { } loc)
        {
            var buf = new long[15];
            buf[0] = 0x50495045; buf[1] = 4096; buf[8] = 255; buf[9] = 4096; buf[10] = 0x20;
            return t.Memory.CopyOut(a.A1, System.Runtime.InteropServices.MemoryMarshal.AsBytes(buf.AsSpan()));
        }
        return CopyStatFs(t, loc, a.A1);
    }

    // ---- xattrs ----------------------------------------------------------------------------

    private static int XattrTarget(Task t, ulong pathAddr, bool follow, int fd, out VfsPath loc)
    {
        loc = default;
        if (fd >= 0)
        {
            var f = t.Fds.Get(fd);
            if (f == null || (f.StatusFlags & OpenFlags.O_PATH) != 0) return -Errno.EBADF;
            if (f.Location is not { } l) return -Errno.EOPNOTSUPP;
            loc = l;
            return 0;
        }
        int err = FileSyscalls.Path(t, pathAddr, out string path);
        if (err != 0) return err;
        return t.Kernel.Vfs.Resolve(t, t.Fs.Cwd, path, follow, out loc);
    }

    private static int XattrName(Task t, ulong addr, out string name)
    {
        int err = t.Memory.CopyInString(addr, 256, out name);
        if (err == -Errno.ENAMETOOLONG) return -Errno.ERANGE;
        if (err != 0) return err;
        if (name.Length == 0) return -Errno.ERANGE;
        return 0;
    }

    /// <summary>
    /// Linux's xattr_permission: trusted.* needs CAP_SYS_ADMIN (EPERM to change, ENODATA to read),
    /// user.* exists only on regular files and directories (EPERM / ENODATA elsewhere) and a sticky
    /// directory's user.* only its owner (or CAP_FOWNER) may change; security.* changes need
    /// CAP_SYS_ADMIN (the capability module's rule); otherwise the file's read or write permission.
    /// </summary>
    private static int XattrPermission(Task t, in InodeAttr attr, string name, bool write)
    {
        const int CAP_SYS_ADMIN = 21, CAP_FOWNER = 3;
        var c = t.Credentials;
        if (name.StartsWith("trusted.", StringComparison.Ordinal))
            return c.HasCapability(CAP_SYS_ADMIN) ? 0 : write ? -Errno.EPERM : -Errno.ENODATA;
        if (name.StartsWith("security.", StringComparison.Ordinal) || name.StartsWith("system.", StringComparison.Ordinal))
            return write && name.StartsWith("security.", StringComparison.Ordinal) && !c.HasCapability(CAP_SYS_ADMIN) ? -Errno.EPERM : 0;
        if (name.StartsWith("user.", StringComparison.Ordinal))
        {
            if (!LinuxMode.IsReg(attr.Mode) && !LinuxMode.IsDir(attr.Mode)) return write ? -Errno.EPERM : -Errno.ENODATA;
            if (write && LinuxMode.IsDir(attr.Mode) && (attr.Mode & 0x200) != 0 && !Permissions.IsOwner(c, attr) && !c.HasCapability(CAP_FOWNER))
                return -Errno.EPERM;
        }
        return Permissions.Check(c, attr, write ? Permissions.MayWrite : Permissions.MayRead);
    }

    private static long SetXattr(Task t, ulong pathAddr, bool follow, int fd, ulong nameAddr, ulong value, ulong size, int flags)
    {
        if ((flags & ~3) != 0) return -Errno.EINVAL;
        if (size > 65536) return -Errno.E2BIG;
        int err = XattrTarget(t, pathAddr, follow, fd, out var loc);
        if (err != 0) return err;
        err = XattrName(t, nameAddr, out string name);
        if (err != 0) return err;
        var buf = new byte[size];
        err = t.Memory.CopyIn(value, buf);
        if (err != 0) return err;
        if (loc.Mount.ReadOnly) return -Errno.EROFS;
        err = XattrPermission(t, loc.Inode.Attr, name, true);
        if (err != 0) return err;
        return loc.Inode.SetXattr(name, buf, flags);
    }

    private static long GetXattr(Task t, ulong pathAddr, bool follow, int fd, ulong nameAddr, ulong value, ulong size)
    {
        int err = XattrTarget(t, pathAddr, follow, fd, out var loc);
        if (err != 0) return err;
        err = XattrName(t, nameAddr, out string name);
        if (err != 0) return err;
        err = XattrPermission(t, loc.Inode.Attr, name, false);
        if (err != 0) return err;
        err = loc.Inode.GetXattr(name, out var v);
        if (err != 0) return err;
        if (size == 0) return v.Length;
        if ((ulong)v.Length > size) return -Errno.ERANGE;
        err = t.Memory.CopyOut(value, v);
        return err != 0 ? err : v.Length;
    }

    private static long ListXattr(Task t, ulong pathAddr, bool follow, int fd, ulong list, ulong size)
    {
        int err = XattrTarget(t, pathAddr, follow, fd, out var loc);
        if (err != 0) return err;
        err = loc.Inode.ListXattr(out var names);
        if (err != 0) return err;
        // trusted.* names are listed only to CAP_SYS_ADMIN.
        if (!t.Credentials.HasCapability(21)) names = names.Where(n => !n.StartsWith("trusted.", StringComparison.Ordinal)).ToList();
        var bytes = LinuxText.Encode(string.Concat(names.Select(n => n + "\0")));
        if (size == 0) return bytes.Length;
        if ((ulong)bytes.Length > size) return -Errno.ERANGE;
        err = t.Memory.CopyOut(list, bytes);
        return err != 0 ? err : bytes.Length;
    }

    private static long RemoveXattr(Task t, ulong pathAddr, bool follow, int fd, ulong nameAddr)
    {
        int err = XattrTarget(t, pathAddr, follow, fd, out var loc);
        if (err != 0) return err;
        err = XattrName(t, nameAddr, out string name);
        if (err != 0) return err;
        if (loc.Mount.ReadOnly) return -Errno.EROFS;
        err = XattrPermission(t, loc.Inode.Attr, name, true);
        if (err != 0) return err;
        return loc.Inode.RemoveXattr(name);
    }

    /// <summary>setxattr(2): XATTR_CREATE (EEXIST) / XATTR_REPLACE (ENODATA); E2BIG over 64 KiB.</summary>
    private static long Setxattr(Task t, in SyscallArguments a) => SetXattr(t, a.A0, true, -1, a.A1, a.A2, a.A3, (int)a.A4);
    /// <summary>lsetxattr(2).</summary>
    private static long Lsetxattr(Task t, in SyscallArguments a) => SetXattr(t, a.A0, false, -1, a.A1, a.A2, a.A3, (int)a.A4);
    /// <summary>fsetxattr(2).</summary>
    private static long Fsetxattr(Task t, in SyscallArguments a) => SetXattr(t, 0, true, (int)a.A0, a.A1, a.A2, a.A3, (int)a.A4);
    /// <summary>getxattr(2): size 0 returns the value's size; ERANGE if the buffer is too small; ENODATA if absent.</summary>
    private static long Getxattr(Task t, in SyscallArguments a) => GetXattr(t, a.A0, true, -1, a.A1, a.A2, a.A3);
    /// <summary>lgetxattr(2).</summary>
    private static long Lgetxattr(Task t, in SyscallArguments a) => GetXattr(t, a.A0, false, -1, a.A1, a.A2, a.A3);
    /// <summary>fgetxattr(2).</summary>
    private static long Fgetxattr(Task t, in SyscallArguments a) => GetXattr(t, 0, true, (int)a.A0, a.A1, a.A2, a.A3);
    /// <summary>listxattr(2): NUL-separated names.</summary>
    private static long Listxattr(Task t, in SyscallArguments a) => ListXattr(t, a.A0, true, -1, a.A1, a.A2);
    /// <summary>llistxattr(2).</summary>
    private static long Llistxattr(Task t, in SyscallArguments a) => ListXattr(t, a.A0, false, -1, a.A1, a.A2);
    /// <summary>flistxattr(2).</summary>
    private static long Flistxattr(Task t, in SyscallArguments a) => ListXattr(t, 0, true, (int)a.A0, a.A1, a.A2);
    /// <summary>removexattr(2).</summary>
    private static long Removexattr(Task t, in SyscallArguments a) => RemoveXattr(t, a.A0, true, -1, a.A1);
    /// <summary>lremovexattr(2).</summary>
    private static long Lremovexattr(Task t, in SyscallArguments a) => RemoveXattr(t, a.A0, false, -1, a.A1);
    /// <summary>fremovexattr(2).</summary>
    private static long Fremovexattr(Task t, in SyscallArguments a) => RemoveXattr(t, 0, true, (int)a.A0, a.A1);
}
