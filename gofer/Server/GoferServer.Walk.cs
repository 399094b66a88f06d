using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;
using RunscNet.Gofer.Server;

namespace RunscNet.Gofer;

// Attach, Walk and Stat: how handles come to be, one component at a time, never following a symlink.
internal sealed partial class GoferServer
{
    /// <summary>
    /// Attach resolves an absolute path the way the gofer resolved mount destinations at setup
    /// (<see cref="Process.InRootResolver"/>): symlinks are followed, but only inside the tree (an
    /// absolute target restarts at the root, ".." stops there), so the handle is the mount the
    /// gofer made for that destination. "." and ".." in the request itself are refused.
    /// </summary>
    private AttachResponse Attach(AttachRequest request)
    {
        int r = NameRules.SplitAttachPath(request.Path, out _);
        if (r < 0)
        {
            return new AttachResponse { Errno = -r };
        }
        int fd = Process.InRootResolver.Open(_rootFd.Number, request.Path, create: null);
        if (fd < 0)
        {
            return new AttachResponse { Errno = -fd };
        }
        r = AddNode(fd, null, null, out WireNode? node);
        return new AttachResponse { Errno = -r, Node = node };
    }

    private WalkResponse Walk(WalkRequest request)
    {
        Node? dir = _handles.Find(request.Directory);
        if (dir is null)
        {
            return new WalkResponse { Errno = Errno.EBADF };
        }
        int r = NameRules.CheckComponent(request.Name);
        if (r < 0)
        {
            return new WalkResponse { Errno = -r };
        }
        if (dir.FileType != LinuxMode.S_IFDIR)
        {
            return new WalkResponse { Errno = Errno.ENOTDIR };
        }
        int fd = Files.OpenAt(dir.Fd, request.Name, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return new WalkResponse { Errno = -Files.Result(fd) };
        }
        r = AddNode(fd, dir, request.Name, out WireNode? node);
        return new WalkResponse { Errno = -r, Node = node };
    }

    private WalkManyResponse WalkMany(WalkManyRequest request)
    {
        var response = new WalkManyResponse();
        List<string> names = request.Names ?? new List<string>();
        if (names.Count == 0 || names.Count > ProtocolLimits.MaxWalkComponents)
        {
            response.Errno = Errno.EINVAL;
            return response;
        }
        ulong dir = request.Directory;
        foreach (string name in names)
        {
            WalkResponse step = Walk(new WalkRequest { Directory = dir, Name = name });
            if (step.Errno != 0)
            {
                response.Errno = step.Errno;
                return response;
            }
            response.Nodes.Add(step.Node!);
            if ((step.Node!.Stat!.Mode & LinuxMode.S_IFMT) == LinuxMode.S_IFLNK)
            {
                return response; // the caller resolves the symlink
            }
            dir = step.Node.Handle;
        }
        return response;
    }

    private StatResponse Stat(StatRequest request)
    {
        Node? node = _handles.Find(request.Handle);
        if (node is null)
        {
            return new StatResponse { Errno = Errno.EBADF };
        }
        int r = StatFd(node.Fd, out Statx sx);
        return r < 0 ? new StatResponse { Errno = -r } : new StatResponse { Stat = ToWire(sx) };
    }

    /// <summary>
    /// Registers O_PATH <paramref name="fd"/> as a new handle (taking ownership; closed on failure)
    /// and describes it; <paramref name="parent"/>/<paramref name="name"/> is how to reopen it
    /// (null for an attach point). Returns 0 or -errno.
    /// </summary>
    private int AddNode(int fd, Node? parent, string? name, out WireNode? node)
    {
        node = null;
        using var owned = new FileDescriptor(fd);
        int r = StatFd(fd, out Statx sx);
        if (r < 0)
        {
            return r;
        }
        bool readOnly = _readOnly || IsReadOnlyMount(fd);
        ulong handle = _handles.Add(new Node(owned.Release(), sx.Mode & LinuxMode.S_IFMT, readOnly, parent, name,
            WireConversions.MakeDev(sx.DevMajor, sx.DevMinor), sx.Ino));
        node = new WireNode { Handle = handle, Stat = ToWire(sx), ReadOnly = readOnly };
        return 0;
    }

    /// <summary>statx of the file of <paramref name="fd"/> itself (AT_EMPTY_PATH, never following).</summary>
    private static unsafe int StatFd(int fd, out Statx sx)
    {
        Statx buffer;
        int r = Files.Result(Files.StatxAt(fd, "", PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW,
            Files.STATX_BASIC_STATS, &buffer));
        sx = buffer;
        return r;
    }

    /// <summary>True when the mount holding <paramref name="fd"/> is mounted read-only (ST_RDONLY).</summary>
    private static unsafe bool IsReadOnlyMount(int fd)
    {
        StatFsBuffer buffer;
        return Files.FStatFs(fd, &buffer) == 0 && (buffer.Flags & Files.ST_RDONLY) != 0;
    }

    /// <summary>The wire form of a statx result.</summary>
    private static WireStat ToWire(in Statx sx) => new()
    {
        Mode = sx.Mode, Uid = sx.Uid, Gid = sx.Gid, Nlink = sx.Nlink, Size = (long)sx.Size,
        Blocks = (long)sx.Blocks, BlkSize = sx.BlockSize, Ino = sx.Ino,
        Dev = WireConversions.MakeDev(sx.DevMajor, sx.DevMinor),
        Rdev = WireConversions.MakeDev(sx.RdevMajor, sx.RdevMinor),
        AtimeSec = sx.Atime.Seconds, AtimeNsec = sx.Atime.Nanoseconds,
        MtimeSec = sx.Mtime.Seconds, MtimeNsec = sx.Mtime.Nanoseconds,
        CtimeSec = sx.Ctime.Seconds, CtimeNsec = sx.Ctime.Nanoseconds,
    };
}
