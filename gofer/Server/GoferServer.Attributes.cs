using System.Text;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using RunscNet.Gofer.Server;

namespace RunscNet.Gofer;

// Reading and changing a file's attributes: readlink, setattr, statfs, xattrs, fsync.
internal sealed partial class GoferServer
{
    private const string UserXattrPrefix = "user.";

    private unsafe ReadlinkResponse Readlink(ReadlinkRequest request)
    {
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new ReadlinkResponse { Errno = Errno.EBADF };
        }
        if (node.FileType != LinuxMode.S_IFLNK)
        {
            return new ReadlinkResponse { Errno = Errno.EINVAL };
        }
        byte[] buffer = new byte[ProtocolLimits.MaxPathLength + 1];
        fixed (byte* p = buffer)
        {
            long n = Files.Result(Files.ReadlinkAt(node.Fd, "", p, (nuint)buffer.Length));
            if (n < 0)
            {
                return new ReadlinkResponse { Errno = (int)-n };
            }
            return new ReadlinkResponse { Target = Encoding.UTF8.GetString(buffer, 0, (int)n) };
        }
    }

    private unsafe SetAttrResponse SetAttr(SetAttrRequest request)
    {
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new SetAttrResponse { Errno = Errno.EBADF };
        }
        uint mask = request.Mask;
        if ((mask & ~GoferSetAttr.AllBits) != 0)
        {
            return new SetAttrResponse { Errno = Errno.EINVAL };
        }
        if (mask == 0)
        {
            return new SetAttrResponse();
        }
        if (node.ReadOnly)
        {
            return new SetAttrResponse { Errno = Errno.EROFS };
        }
        if ((mask & GoferSetAttr.SetSize) != 0)
        {
            int r = Truncate(node, request.Size);
            if (r < 0)
            {
                return new SetAttrResponse { Errno = -r };
            }
        }
        if ((mask & (GoferSetAttr.SetUid | GoferSetAttr.SetGid)) != 0)
        {
            uint uid = (mask & GoferSetAttr.SetUid) != 0 ? request.Uid : uint.MaxValue;
            uint gid = (mask & GoferSetAttr.SetGid) != 0 ? request.Gid : uint.MaxValue;
            int r = Files.Result(Files.FChownAt(node.Fd, "", uid, gid, PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW));
            if (r < 0)
            {
                return new SetAttrResponse { Errno = -r };
            }
        }
        if ((mask & GoferSetAttr.SetMode) != 0)
        {
            if (node.FileType == LinuxMode.S_IFLNK)
            {
                return new SetAttrResponse { Errno = Errno.EOPNOTSUPP };
            }
            int r = Files.Result(Files.FChmodAt(_procFd.Number, FdName(node.Fd), request.Mode & 0xFFF, 0));
            if (r < 0)
            {
                return new SetAttrResponse { Errno = -r };
            }
        }
        if ((mask & (GoferSetAttr.SetAtime | GoferSetAttr.SetMtime)) != 0)
        {
            Timespec* times = stackalloc Timespec[2];
            times[0] = (mask & GoferSetAttr.SetAtime) != 0
                ? new Timespec { Seconds = request.AtimeSec, Nanoseconds = request.AtimeNsec }
                : new Timespec { Nanoseconds = Files.UTIME_OMIT };
            times[1] = (mask & GoferSetAttr.SetMtime) != 0
                ? new Timespec { Seconds = request.MtimeSec, Nanoseconds = request.MtimeNsec }
                : new Timespec { Nanoseconds = Files.UTIME_OMIT };
            int r = Files.Result(Files.UtimensAt(node.Fd, "", times, PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW));
            if (r == -Errno.EINVAL && node.FileType != LinuxMode.S_IFLNK)
            {
                // Kernels without AT_EMPTY_PATH in utimensat: go through the magic link.
                r = Files.Result(Files.UtimensAt(_procFd.Number, FdName(node.Fd), times, 0));
            }
            if (r < 0)
            {
                return new SetAttrResponse { Errno = -r };
            }
        }
        return new SetAttrResponse();
    }

    /// <summary>ftruncate of a regular file through a fresh write-only fd.</summary>
    private int Truncate(Node node, long size)
    {
        if (node.FileType == LinuxMode.S_IFDIR)
        {
            return -Errno.EISDIR;
        }
        if (node.FileType != LinuxMode.S_IFREG || size < 0)
        {
            return -Errno.EINVAL;
        }
        using var fd = new FileDescriptor(Files.OpenAt(_procFd.Number, FdName(node.Fd), OpenFlags.O_WRONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC, 0));
        if (fd.IsInvalid)
        {
            return Files.Result(fd.Number);
        }
        return Files.Result(Files.FTruncate(fd.Number, size));
    }

    private unsafe StatFsResponse StatFs(StatFsRequest request)
    {
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new StatFsResponse { Errno = Errno.EBADF };
        }
        StatFsBuffer s;
        int r = Files.Result(Files.FStatFs(node.Fd, &s));
        if (r < 0)
        {
            return new StatFsResponse { Errno = -r };
        }
        return new StatFsResponse
        {
            Type = s.Type, BlockSize = s.BlockSize, Blocks = s.Blocks, BlocksFree = s.BlocksFree,
            BlocksAvailable = s.BlocksAvailable, Files = s.Files, FilesFree = s.FilesFree,
            NameLength = s.NameLength, Flags = s.Flags, FragmentSize = s.FragmentSize,
        };
    }

    private unsafe GetXattrResponse GetXattr(GetXattrRequest request)
    {
        int r = OpenForXattr(request.Handle, request.Name, write: false, out FileDescriptor? opened);
        byte[] buffer;
        long n;
        using (var fd = opened)
        {
            if (r < 0 || fd is null)
            {
                return new GetXattrResponse { Errno = r < 0 ? -r : Errno.ENODATA };
            }
            buffer = new byte[ExtendedAttributes.MaxValueSize];
            fixed (byte* p = buffer)
            {
                n = Files.Result(ExtendedAttributes.FGetXattr(fd.Number, request.Name, p, (nuint)buffer.Length));
            }
        }
        return n < 0 ? new GetXattrResponse { Errno = (int)-n } : new GetXattrResponse { Value = buffer[..(int)n] };
    }

    private unsafe SetXattrResponse SetXattr(SetXattrRequest request)
    {
        byte[] value = request.Value ?? Array.Empty<byte>();
        if (value.Length > ExtendedAttributes.MaxValueSize)
        {
            return new SetXattrResponse { Errno = Errno.E2BIG };
        }
        if ((request.Flags & ~(Files.XATTR_CREATE | Files.XATTR_REPLACE)) != 0)
        {
            return new SetXattrResponse { Errno = Errno.EINVAL };
        }
        int r = OpenForXattr(request.Handle, request.Name, write: true, out FileDescriptor? opened);
        using (var fd = opened)
        {
            if (r < 0 || fd is null)
            {
                return new SetXattrResponse { Errno = -r };
            }
            fixed (byte* p = value)
            {
                r = Files.Result(ExtendedAttributes.FSetXattr(fd.Number, request.Name, p, (nuint)value.Length, request.Flags));
            }
        }
        return new SetXattrResponse { Errno = -r };
    }

    private unsafe ListXattrResponse ListXattr(ListXattrRequest request)
    {
        int r = OpenForXattr(request.Handle, null, write: false, out FileDescriptor? opened);
        byte[] buffer;
        long n;
        using (var fd = opened)
        {
            if (r < 0 || fd is null)
            {
                return new ListXattrResponse { Errno = -r };
            }
            buffer = new byte[ExtendedAttributes.MaxListSize];
            fixed (byte* p = buffer)
            {
                n = Files.Result(ExtendedAttributes.FListXattr(fd.Number, p, (nuint)buffer.Length));
            }
        }
        if (n < 0)
        {
            return new ListXattrResponse { Errno = (int)-n };
        }
        var response = new ListXattrResponse();
        foreach (string name in Encoding.UTF8.GetString(buffer, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            if (name.StartsWith(UserXattrPrefix, StringComparison.Ordinal))
            {
                response.Names.Add(name);
            }
        }
        return response;
    }

    private RemoveXattrResponse RemoveXattr(RemoveXattrRequest request)
    {
        int r = OpenForXattr(request.Handle, request.Name, write: true, out FileDescriptor? opened);
        using (var fd = opened)
        {
            if (r < 0 || fd is null)
            {
                return new RemoveXattrResponse { Errno = -r };
            }
            r = Files.Result(ExtendedAttributes.FRemoveXattr(fd.Number, request.Name));
        }
        return new RemoveXattrResponse { Errno = -r };
    }

    /// <summary>
    /// Checks an xattr request and opens the file read-only for f*xattr (O_PATH fds do not
    /// support them). Only "user." names are served (EOPNOTSUPP otherwise: no security.* or
    /// trusted.* on host files). Files other than regular files and directories hold no user
    /// xattrs: reads give <paramref name="fd"/> = null with success, writes EPERM.
    /// </summary>
    private int OpenForXattr(ulong handle, string? name, bool write, out FileDescriptor? fd)
    {
        fd = null;
        Node? node = _handles.Find(handle);
        if (node is null)
        {
            return -Errno.EBADF;
        }
        if (name is not null)
        {
            if (name.Length == 0 || name.Contains('\0') || Encoding.UTF8.GetByteCount(name) > ExtendedAttributes.MaxNameLength)
            {
                return -Errno.ERANGE;
            }
            if (!name.StartsWith(UserXattrPrefix, StringComparison.Ordinal) || name.Length == UserXattrPrefix.Length)
            {
                return -Errno.EOPNOTSUPP;
            }
        }
        if (write && node.ReadOnly)
        {
            return -Errno.EROFS;
        }
        if (node.FileType != LinuxMode.S_IFREG && node.FileType != LinuxMode.S_IFDIR)
        {
            return write ? -Errno.EPERM : 0;
        }
        int flags = OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC |
            (node.FileType == LinuxMode.S_IFDIR ? OpenFlags.O_DIRECTORY : 0);
        int opened = Files.OpenAt(_procFd.Number, FdName(node.Fd), flags, 0);
        if (opened < 0)
        {
            return Files.Result(opened);
        }
        fd = new FileDescriptor(opened);
        return 0;
    }

    private FsyncResponse Fsync(FsyncRequest request)
    {
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new FsyncResponse { Errno = Errno.EBADF };
        }
        if (node.FileType == LinuxMode.S_IFLNK)
        {
            return new FsyncResponse();
        }
        if (node.FileType != LinuxMode.S_IFREG && node.FileType != LinuxMode.S_IFDIR)
        {
            return new FsyncResponse { Errno = Errno.EINVAL };
        }
        int flags = OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC |
            (node.FileType == LinuxMode.S_IFDIR ? OpenFlags.O_DIRECTORY : 0);
        using var fd = new FileDescriptor(Files.OpenAt(_procFd.Number, FdName(node.Fd), flags, 0));
        if (fd.IsInvalid)
        {
            return new FsyncResponse { Errno = -Files.Result(fd.Number) };
        }
        int r = Files.Result(Files.FSync(fd.Number));
        return new FsyncResponse { Errno = -r };
    }
}
