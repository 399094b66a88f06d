using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Cgroup;

/// <summary>
/// One cgroup hierarchy as the container sees it (cgroups(7) with a cgroup namespace rooted at
/// the sandbox's cgroup, as runc gives a container): the sandbox's own cgroup directory of the
/// host, read-only. Programs read their limits here (memory.max or memory.limit_in_bytes,
/// cpu.max or cpu.cfs_quota_us, pids.max: the JVM, .NET, Go, systemd). The directory is held as
/// an O_PATH fd taken while boot still sees the host's tree; every lookup goes one component at
/// a time below it with O_NOFOLLOW, so nothing outside the sandbox's cgroup is reachable.
/// </summary>
public sealed class HostCgroupFileSystem : FileSystem
{
    private readonly string _typeName;
    private readonly string _options;
    private readonly long _magic;

    /// <summary>A view of host directory <paramref name="dirFd"/> (an O_PATH fd it then owns).</summary>
    public HostCgroupFileSystem(int dirFd, bool unified, string controllers)
    {
        _typeName = unified ? "cgroup2" : "cgroup";
        _options = controllers;
        _magic = unified ? 0x63677270 : 0x27e0eb;
        Root = new HostCgroupInode(this, dirFd);
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

/// <summary>A file or directory of a <see cref="HostCgroupFileSystem"/>, by an O_PATH fd of the host's.</summary>
public sealed class HostCgroupInode : Inode
{
    private const int O_PATH = 0x200000, O_NOFOLLOW = 0x20000, O_DIRECTORY = 0x10000;
    private readonly int _fd;
    private readonly int _parentFd;
    private readonly string? _name;

    internal HostCgroupInode(FileSystem fs, int pathFd, int parentFd = -1, string? name = null) : base(fs)
    {
        _fd = pathFd;
        _parentFd = parentFd;
        _name = name;
        if (HostStat(out var st) == 0) Ino = st.Ino;
    }

    private unsafe int HostStat(out LinuxStatBuffer st)
    {
        fixed (LinuxStatBuffer* p = &st)
            return HostFiles.fstat(_fd, p) < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override InodeAttr Attr
    {
        get
        {
            if (HostStat(out var st) != 0) return new InodeAttr { Mode = LinuxMode.S_IFREG, Nlink = 1, Ino = Ino, Dev = FileSystem.DeviceId };
            return new InodeAttr
            {
                Mode = st.Mode, Uid = st.Uid, Gid = st.Gid, Nlink = st.Nlink, Ino = st.Ino, Dev = FileSystem.DeviceId,
                Size = st.Size, Blocks = st.Blocks, BlockSize = (int)st.Blksize,
                AtimeNs = st.AtimeSec * 1_000_000_000 + st.AtimeNsec,
                MtimeNs = st.MtimeSec * 1_000_000_000 + st.MtimeNsec,
                CtimeNs = st.CtimeSec * 1_000_000_000 + st.CtimeNsec,
            };
        }
    }

    // The host's cgroup files come and go with the host's cgroup: look them up each time.
    /// <inheritdoc/>
    public override bool CachesLookups => false;

    /// <inheritdoc/>
    public override int Lookup(string name, out Inode? child)
    {
        child = null;
        if (!IsDirectory) return -Errno.ENOTDIR;
        if (name.Length == 0 || name == "." || name == ".." || name.Contains('/') || name.Contains('\0')) return -Errno.ENOENT;
        int fd = HostFiles.openat(_fd, name, O_PATH | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0) return HostFiles.Neg();
        child = new HostCgroupInode(FileSystem, fd, _fd, name);
        return 0;
    }

    /// <inheritdoc/>
    public override unsafe int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        if (!IsDirectory) return -Errno.ENOTDIR;
        int dir = HostFiles.openat(_fd, ".", OpenFlags.O_RDONLY | O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
        if (dir < 0) return HostFiles.Neg();
        try
        {
            byte[] buf = new byte[8192];
            while (true)
            {
                long n;
                fixed (byte* p = buf) n = RawSyscall.Checked(217 /* getdents64 */, dir, (long)p, buf.Length);
                if (n < 0) return (int)n;
                if (n == 0) return 0;
                for (int off = 0; off < n;)
                {
                    ulong ino = BitConverter.ToUInt64(buf, off);
                    int reclen = BitConverter.ToUInt16(buf, off + 16);
                    byte type = buf[off + 18];
                    int nameEnd = Array.IndexOf(buf, (byte)0, off + 19, reclen - 19);
                    string name = System.Text.Encoding.UTF8.GetString(buf, off + 19, (nameEnd < 0 ? off + reclen : nameEnd) - (off + 19));
                    if (name != "." && name != "..") entries.Add(new DirEntry(name, ino, type));
                    off += reclen;
                }
            }
        }
        finally
        {
            HostFiles.close(dir);
        }
    }

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        if (!LinuxMode.IsReg(Mode)) return -Errno.ENXIO;
        // The view is read-only, whatever the mount says: the sandbox's limits are the runtime's.
        if ((flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0) return -Errno.EROFS;
        if (_name == null) return -Errno.ENXIO;
        int fd = HostFiles.openat(_parentFd, _name, OpenFlags.O_RDONLY | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0) return HostFiles.Neg();
        file = new HostRegularFile(fd, ownsFd: true, flags & ~OpenFlags.O_CLOEXEC);
        return 0;
    }

    /// <inheritdoc/>
    public override int StatFs(out StatFsInfo info)
    {
        info = FileSystem.DefaultStatFs();
        return 0;
    }
}
