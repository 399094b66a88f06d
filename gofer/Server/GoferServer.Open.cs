using System.Text;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using RunscNet.Gofer.Server;

namespace RunscNet.Gofer;

// Open (donating a host fd) and GetDents.
internal sealed partial class GoferServer
{
    private OpenResponse Open(OpenRequest request)
    {
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new OpenResponse { Errno = Errno.EBADF };
        }
        int access = request.Flags & OpenFlags.O_ACCMODE;
        if (access == OpenFlags.O_ACCMODE)
        {
            return new OpenResponse { Errno = Errno.EINVAL };
        }
        bool writes = access != OpenFlags.O_RDONLY || (request.Flags & OpenFlags.O_TRUNC) != 0;
        switch (node.FileType)
        {
            case LinuxMode.S_IFLNK:
                return new OpenResponse { Errno = Errno.ELOOP };
            case LinuxMode.S_IFDIR:
                // No directory fd ever leaves the gofer: with one, openat(fd, "..") would climb
                // out of the container. Directories are read with GetDents.
                return new OpenResponse { Errno = access != OpenFlags.O_RDONLY ? Errno.EISDIR : 0 };
            case LinuxMode.S_IFCHR:
            case LinuxMode.S_IFBLK:
                return new OpenResponse { Errno = Errno.EACCES }; // as on a nodev mount
            case LinuxMode.S_IFSOCK:
                return new OpenResponse { Errno = Errno.ENXIO };
        }
        if (writes && node.ReadOnly)
        {
            return new OpenResponse { Errno = Errno.EROFS };
        }
        int flags = (request.Flags & OpenFlagsPassedThrough) | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC;
        if (node.FileType == LinuxMode.S_IFIFO)
        {
            flags |= OpenFlags.O_NONBLOCK; // a FIFO without a peer must not stall the gofer
        }
        // Re-open through the /proc/self/fd magic link: it names exactly the held inode (no path
        // walk, no symlink), and the type check above ruled out symlinks.
        int fd = Files.OpenAt(_procFd.Number, FdName(node.Fd), flags, 0);
        if (fd < 0)
        {
            return new OpenResponse { Errno = -Files.Result(fd) };
        }
        _donated = new FileDescriptor(fd);
        return new OpenResponse { HasFd = true };
    }

    private unsafe GetDentsResponse GetDents(GetDentsRequest request)
    {
        Node? node = _handles.Find(request.Directory);
        if (node is null)
        {
            return new GetDentsResponse { Errno = Errno.EBADF };
        }
        if (node.FileType != LinuxMode.S_IFDIR)
        {
            return new GetDentsResponse { Errno = Errno.ENOTDIR };
        }
        using var fd = new FileDescriptor(Files.OpenAt(node.Fd, ".", OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0));
        if (fd.IsInvalid)
        {
            return new GetDentsResponse { Errno = -Files.Result(fd.Number) };
        }
        if (request.Cookie != 0 && Files.LSeek(fd.Number, request.Cookie, Files.SEEK_SET) < 0)
        {
            return new GetDentsResponse { Errno = Errno.EINVAL };
        }
        var response = new GetDentsResponse { NextCookie = request.Cookie };
        int budget = ProtocolLimits.DirentBatchBytes;
        byte* buffer = stackalloc byte[4096];
        while (true)
        {
            long n = Files.Result(Files.GetDents64(fd.Number, buffer, 4096));
            if (n < 0)
            {
                return new GetDentsResponse { Errno = (int)-n };
            }
            if (n == 0)
            {
                response.End = true;
                return response;
            }
            // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
            for (long offset = 0; offset < n;)
            {
                byte* d = buffer + offset;
                ulong ino = *(ulong*)d;
                long next = *(long*)(d + 8);
                ushort reclen = *(ushort*)(d + 16);
                byte type = d[18];
                var name = new ReadOnlySpan<byte>(d + 19, reclen - 19);
                int nul = name.IndexOf((byte)0);
                if (nul >= 0)
                {
                    name = name[..nul];
                }
                offset += reclen;
                if (budget <= 0)
                {
                    return response; // the entry is left for the next batch (NextCookie)
                }
                response.NextCookie = next;
                if ((name.Length == 1 && name[0] == '.') || (name.Length == 2 && name[0] == '.' && name[1] == '.'))
                {
                    continue;
                }
                response.Entries.Add(new WireDirEntry { Name = Encoding.UTF8.GetString(name), Ino = ino, Type = type });
                budget -= name.Length + 24;
            }
        }
    }
}
