using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using RunscNet.Gofer.Server;

namespace RunscNet.Gofer;

// Operations that add or remove directory entries: create, mkdir, mknod, symlink, link, unlink, rename.
internal sealed partial class GoferServer
{
    private const int OpenFlagsPassedThrough = OpenFlags.O_ACCMODE | OpenFlags.O_TRUNC | OpenFlags.O_APPEND | OpenFlags.O_DIRECT |
        OpenFlags.O_SYNC | OpenFlags.O_DSYNC | OpenFlags.O_NOATIME | OpenFlags.O_NONBLOCK | OpenFlags.O_LARGEFILE;

    private CreateResponse Create(CreateRequest request)
    {
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? dir);
        if (r < 0)
        {
            return new CreateResponse { Errno = -r };
        }
        int flags = (request.Flags & OpenFlagsPassedThrough) | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW |
            OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC;
        using var fd = new FileDescriptor(Files.OpenAt(dir!.Fd, request.Name, flags, request.Mode & 0x1FF));
        if (fd.IsInvalid)
        {
            return new CreateResponse { Errno = -Files.Result(fd.Number) };
        }
        using var pathFd = new FileDescriptor(Files.OpenAt(_procFd.Number, FdName(fd.Number), OpenFlags.O_PATH | OpenFlags.O_CLOEXEC, 0));
        r = pathFd.IsInvalid ? Files.Result(pathFd.Number) : SetOwnerAndMode(pathFd.Number, request.Uid, request.Gid, request.Mode);
        WireNode? node = null;
        if (r >= 0)
        {
            r = AddNode(pathFd.Release(), dir, request.Name, out node);
        }
        if (r < 0)
        {
            // Both closed before the unlink, as they always were.
            pathFd.Dispose();
            fd.Dispose();
            Files.UnlinkAt(dir.Fd, request.Name, 0);
            return new CreateResponse { Errno = -r };
        }
        _donated = new FileDescriptor(fd.Release());
        return new CreateResponse { Node = node, HasFd = true };
    }

    private MkdirResponse Mkdir(MkdirRequest request)
    {
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? dir);
        if (r < 0)
        {
            return new MkdirResponse { Errno = -r };
        }
        r = Files.Result(Files.MkdirAt(dir!.Fd, request.Name, request.Mode & 0xFFF));
        if (r < 0)
        {
            return new MkdirResponse { Errno = -r };
        }
        r = OpenCreated(dir, request.Name, request.Uid, request.Gid, request.Mode, PathConsts.AT_REMOVEDIR, out WireNode? node);
        return new MkdirResponse { Errno = -r, Node = node };
    }

    private MknodResponse Mknod(MknodRequest request)
    {
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? dir);
        if (r < 0)
        {
            return new MknodResponse { Errno = -r };
        }
        uint type = request.Mode & LinuxMode.S_IFMT;
        if (type == 0)
        {
            type = LinuxMode.S_IFREG;
        }
        if (type == LinuxMode.S_IFCHR || type == LinuxMode.S_IFBLK)
        {
            return new MknodResponse { Errno = Errno.EPERM }; // device nodes never reach the host
        }
        if (type != LinuxMode.S_IFREG && type != LinuxMode.S_IFIFO && type != LinuxMode.S_IFSOCK)
        {
            return new MknodResponse { Errno = Errno.EINVAL };
        }
        r = Files.Result(Files.MknodAt(dir!.Fd, request.Name, type | (request.Mode & 0xFFF), 0));
        if (r < 0)
        {
            return new MknodResponse { Errno = -r };
        }
        r = OpenCreated(dir, request.Name, request.Uid, request.Gid, request.Mode, 0, out WireNode? node);
        return new MknodResponse { Errno = -r, Node = node };
    }

    private SymlinkResponse Symlink(SymlinkRequest request)
    {
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? dir);
        if (r < 0)
        {
            return new SymlinkResponse { Errno = -r };
        }
        r = NameRules.CheckSymlinkTarget(request.Target);
        if (r < 0)
        {
            return new SymlinkResponse { Errno = -r };
        }
        r = Files.Result(Files.SymlinkAt(request.Target, dir!.Fd, request.Name));
        if (r < 0)
        {
            return new SymlinkResponse { Errno = -r };
        }
        r = OpenCreated(dir, request.Name, request.Uid, request.Gid, null, 0, out WireNode? node);
        return new SymlinkResponse { Errno = -r, Node = node };
    }

    private LinkResponse Link(LinkRequest request)
    {
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? dir);
        if (r < 0)
        {
            return new LinkResponse { Errno = -r };
        }
        Node? target = _handles.Find(request.Target);
        if (target is null)
        {
            return new LinkResponse { Errno = Errno.EBADF };
        }
        if (target.FileType == LinuxMode.S_IFDIR)
        {
            return new LinkResponse { Errno = Errno.EPERM };
        }
        // linkat(fd, "", AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; without it (ENOENT) link the
        // inode through its /proc/self/fd magic link, which names exactly this file.
        r = Files.Result(Files.LinkAt(target.Fd, "", dir!.Fd, request.Name, PathConsts.AT_EMPTY_PATH));
        if (r == -Errno.ENOENT)
        {
            r = Files.Result(Files.LinkAt(_procFd.Number, FdName(target.Fd), dir.Fd, request.Name, PathConsts.AT_SYMLINK_FOLLOW));
        }
        if (r < 0)
        {
            return new LinkResponse { Errno = -r };
        }
        r = StatFd(target.Fd, out Statx sx);
        return r < 0 ? new LinkResponse { Errno = -r } : new LinkResponse { Stat = ToWire(sx) };
    }

    private UnlinkResponse Unlink(UnlinkRequest request)
    {
        int r = FindDirectoryToChange(request.Directory, request.Name, out Node? dir);
        if (r < 0)
        {
            return new UnlinkResponse { Errno = -r };
        }
        _handles.PinEntry(dir!, request.Name);
        r = Files.Result(Files.UnlinkAt(dir!.Fd, request.Name, request.IsDirectory ? PathConsts.AT_REMOVEDIR : 0));
        return new UnlinkResponse { Errno = -r };
    }

    private RenameResponse Rename(RenameRequest request)
    {
        int r = FindDirectoryToChange(request.OldDirectory, request.OldName, out Node? oldDir);
        if (r == 0)
        {
            r = FindDirectoryToChange(request.NewDirectory, request.NewName, out Node? newDir);
            if (r == 0)
            {
                if ((request.Flags & ~(uint)(Files.RENAME_NOREPLACE | Files.RENAME_EXCHANGE)) != 0 ||
                    request.Flags == (uint)(Files.RENAME_NOREPLACE | Files.RENAME_EXCHANGE))
                {
                    r = -Errno.EINVAL;
                }
                else
                {
                    bool exchange = (request.Flags & Files.RENAME_EXCHANGE) != 0;
                    if (!exchange)
                    {
                        _handles.PinEntry(newDir!, request.NewName); // replaced, if it exists
                    }
                    r = Files.Result(Files.RenameAt2(oldDir!.Fd, request.OldName, newDir!.Fd, request.NewName, request.Flags));
                    if (r == 0)
                    {
                        _handles.Renamed(oldDir, request.OldName, newDir, request.NewName, exchange);
                    }
                }
            }
        }
        return new RenameResponse { Errno = -r };
    }

    /// <summary>
    /// The directory node of <paramref name="handle"/> if an entry <paramref name="name"/> may be
    /// changed in it: EBADF (unknown), name errors, ENOTDIR, EROFS.
    /// </summary>
    private int FindDirectoryToChange(ulong handle, string name, out Node? dir)
    {
        dir = _handles.Find(handle);
        if (dir is null)
        {
            return -Errno.EBADF;
        }
        int r = NameRules.CheckComponent(name);
        if (r < 0)
        {
            return r;
        }
        if (dir.FileType != LinuxMode.S_IFDIR)
        {
            return -Errno.ENOTDIR;
        }
        return dir.ReadOnly ? -Errno.EROFS : 0;
    }

    /// <summary>
    /// Opens the entry just created as <paramref name="name"/> (O_PATH|O_NOFOLLOW), gives it its
    /// owner and exact mode (no umask; null leaves a symlink's mode), and registers it. On failure
    /// the entry is removed again (<paramref name="unlinkFlags"/>).
    /// </summary>
    private int OpenCreated(Node dir, string name, uint uid, uint gid, uint? mode, int unlinkFlags, out WireNode? node)
    {
        node = null;
        using var fd = new FileDescriptor(Files.OpenAt(dir.Fd, name, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0));
        int r = fd.IsInvalid ? Files.Result(fd.Number) : SetOwnerAndMode(fd.Number, uid, gid, mode);
        if (r >= 0)
        {
            r = AddNode(fd.Release(), dir, name, out node); // the table owns it now (AddNode closes it on failure)
        }
        if (r < 0)
        {
            fd.Dispose();
            Files.UnlinkAt(dir.Fd, name, unlinkFlags);
        }
        return r;
    }

    /// <summary>
    /// chown (lchown semantics) then chmod of O_PATH <paramref name="fd"/> — in that order, since
    /// chown clears set-id bits. <paramref name="mode"/> null: leave the mode (symlinks).
    /// </summary>
    private int SetOwnerAndMode(int fd, uint uid, uint gid, uint? mode)
    {
        int r = Files.Result(Files.FChownAt(fd, "", uid, gid, PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW));
        if (r < 0 || mode is null)
        {
            return r;
        }
        return Files.Result(Files.FChmodAt(_procFd.Number, FdName(fd), mode.Value & 0xFFF, 0));
    }
}
