using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>The attributes stat(2) reports for a file.</summary>
internal struct InodeAttr
{
    public uint Mode, Uid, Gid;
    public ulong Nlink, Ino, Dev, Rdev;
    public long Size, Blocks;
    /// <summary>Times in nanoseconds since the epoch.</summary>
    public long AtimeNs, MtimeNs, CtimeNs;
    public int BlockSize;

    /// <summary>The attributes of a host stat(2) result, identity included.</summary>
    public static InodeAttr FromHost(in LinuxStat st) => new()
    {
        Mode = st.Mode, Uid = st.Uid, Gid = st.Gid, Nlink = st.Nlink, Ino = st.Ino, Dev = st.Dev, Rdev = st.Rdev,
        Size = st.Size, Blocks = st.Blocks, BlockSize = (int)st.Blksize,
        AtimeNs = st.AtimeSec * 1_000_000_000 + st.AtimeNsec,
        MtimeNs = st.MtimeSec * 1_000_000_000 + st.MtimeNsec,
        CtimeNs = st.CtimeSec * 1_000_000_000 + st.CtimeNsec,
    };
}

/// <summary>Which fields of a <see cref="SetAttrRequest"/> to apply (chmod, chown, truncate, utimensat).</summary>
[Flags]
internal enum SetAttrMask
{
    None = 0, Mode = 1, Uid = 2, Gid = 4, Size = 8, Atime = 16, Mtime = 32, AtimeNow = 64, MtimeNow = 128,
}

/// <summary>An attribute change (setattr of the gofer protocol, notify_change in Linux).</summary>
internal struct SetAttrRequest
{
    public SetAttrMask Mask;
    public uint Mode, Uid, Gid;
    public long Size, AtimeNs, MtimeNs;
}

/// <summary>One directory entry as getdents64 reports it.</summary>
internal readonly record struct DirEntry(string Name, ulong Ino, byte Type);

/// <summary>statfs(2) results.</summary>
internal struct StatFsInfo
{
    public long Type, BlockSize, Blocks, BlocksFree, BlocksAvailable, Files, FilesFree, NameLength, FragmentSize, Flags;
}

/// <summary>
/// A file of some file system (tmpfs node, gofer file, /dev device, /proc entry). Directory
/// operations receive names that are single components (never "", "." or ".."); permission
/// and read-only-mount checks are done by the VFS before they are called. Every operation
/// returns 0 or -errno; the defaults give Linux's errno for a file that cannot do it.
/// </summary>
internal abstract class Inode
{
    private static long s_nextIno = 1000;

    /// <summary>The file system this inode belongs to.</summary>
    public FileSystem FileSystem { get; }

    /// <summary>Inode number (unique within the file system).</summary>
    public ulong Ino { get; protected set; }

    protected Inode(FileSystem fs, ulong ino = 0)
    {
        FileSystem = fs;
        Ino = ino != 0 ? ino : (ulong)Interlocked.Increment(ref s_nextIno);
    }

    /// <summary>The cached attributes used for path-walk permission checks (cheap).</summary>
    public abstract InodeAttr Attr { get; }

    /// <summary>File type and permission bits.</summary>
    public uint Mode => Attr.Mode;

    /// <summary>True for directories.</summary>
    public bool IsDirectory => LinuxMode.IsDir(Attr.Mode);

    /// <summary>True for symbolic links.</summary>
    public bool IsSymlink => LinuxMode.IsLink(Attr.Mode);

    /// <summary>Fresh attributes for stat(2) (may ask the gofer).</summary>
    public virtual int Stat(out InodeAttr attr)
    {
        attr = Attr;
        return 0;
    }

    /// <summary>Changes attributes (chmod, chown, truncate, utimes).</summary>
    public virtual int SetAttr(in SetAttrRequest request) => -Errno.EPERM;

    /// <summary>True if the VFS may cache children found by <see cref="Lookup"/> (false for /proc).</summary>
    public virtual bool CachesLookups => true;

    /// <summary>Finds child <paramref name="name"/> of this directory.</summary>
    public virtual int Lookup(string name, out Inode? child)
    {
        child = null;
        return IsDirectory ? -Errno.ENOENT : -Errno.ENOTDIR;
    }

    /// <summary>
    /// Looks up <paramref name="names"/> one below the other from this directory in one go (for
    /// file systems where each lookup is a round trip). Adds the inode of every component found to
    /// <paramref name="found"/>; stops after a symlink or at the first failing component (its
    /// -errno is returned). -ENOSYS when the file system has no such operation (use
    /// <see cref="Lookup"/>).
    /// </summary>
    public virtual int LookupMany(IReadOnlyList<string> names, List<Inode> found) => -Errno.ENOSYS;

    /// <summary>Creates a regular file and opens it with <paramref name="openFlags"/>.</summary>
    public virtual int Create(Task task, string name, uint mode, int openFlags, out Inode? child, out FileDescription? file)
    {
        child = null;
        file = null;
        return -Errno.EPERM;
    }

    /// <summary>Creates a directory.</summary>
    public virtual int Mkdir(Task task, string name, uint mode, out Inode? child)
    {
        child = null;
        return -Errno.EPERM;
    }

    /// <summary>Creates a device node, FIFO, socket or regular file (mknod(2)).</summary>
    public virtual int Mknod(Task task, string name, uint mode, ulong rdev, out Inode? child)
    {
        child = null;
        return -Errno.EPERM;
    }

    /// <summary>Creates a symbolic link holding <paramref name="target"/>.</summary>
    public virtual int Symlink(Task task, string name, string target, out Inode? child)
    {
        child = null;
        return -Errno.EPERM;
    }

    /// <summary>Adds a hard link <paramref name="name"/> to <paramref name="target"/> (same file system).</summary>
    public virtual int Link(Task task, string name, Inode target) => -Errno.EPERM;

    /// <summary>Removes the non-directory entry <paramref name="name"/>.</summary>
    public virtual int Unlink(Task task, string name, Inode child) => -Errno.EPERM;

    /// <summary>Removes the empty directory <paramref name="name"/> (ENOTEMPTY otherwise).</summary>
    public virtual int Rmdir(Task task, string name, Inode child) => -Errno.EPERM;

    /// <summary>
    /// Moves entry <paramref name="oldName"/> (inode <paramref name="child"/>) of this directory to
    /// <paramref name="newName"/> in <paramref name="newDir"/> (same file system), replacing
    /// <paramref name="replaced"/> when it exists (the VFS has checked the type rules).
    /// </summary>
    public virtual int Rename(Task task, string oldName, Inode child, Inode newDir, string newName, Inode? replaced) => -Errno.EPERM;

    /// <summary>
    /// renameat2 RENAME_EXCHANGE: atomically swaps entry <paramref name="oldName"/> of this
    /// directory (<paramref name="child"/>) with <paramref name="newName"/> of
    /// <paramref name="newDir"/> (<paramref name="other"/>), both existing, same file system (the
    /// VFS has checked the rules). EINVAL where the file system cannot.
    /// </summary>
    public virtual int Exchange(Task task, string oldName, Inode child, Inode newDir, string newName, Inode other) => -Errno.EINVAL;

    /// <summary>Lists the directory (without "." and "..").</summary>
    public virtual int ReadDir(out List<DirEntry> entries)
    {
        entries = new List<DirEntry>();
        return -Errno.ENOTDIR;
    }

    /// <summary>The target of a symbolic link.</summary>
    public virtual int Readlink(Task task, out string target)
    {
        target = "";
        return -Errno.EINVAL;
    }

    /// <summary>
    /// For "magic" links of /proc (fd/N, exe, cwd, root): the location the link points at, which
    /// the walk jumps to instead of parsing the text. Null for ordinary symlinks.
    /// </summary>
    public virtual bool MagicLinkTarget(Task task, out VfsPath? location)
    {
        location = null;
        return false;
    }

    /// <summary>
    /// For /proc fd links to files outside any file system (pipes, sockets, the container's
    /// stdio): the open file the link names, which opening the link re-opens. Null otherwise.
    /// </summary>
    public virtual FileDescription? MagicLinkFile(Task task) => null;

    /// <summary>Opens this file; the VFS has checked permissions and sets the description's location.</summary>
    public virtual int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        return -Errno.ENXIO;
    }

    /// <summary>File system statistics (statfs(2)).</summary>
    public virtual int StatFs(out StatFsInfo info)
    {
        info = FileSystem.DefaultStatFs();
        return 0;
    }

    /// <summary>getxattr(2): value of <paramref name="name"/>.</summary>
    public virtual int GetXattr(string name, out byte[] value)
    {
        value = Array.Empty<byte>();
        return -Errno.ENODATA;
    }

    /// <summary>setxattr(2).</summary>
    public virtual int SetXattr(string name, ReadOnlySpan<byte> value, int flags) => -Errno.EOPNOTSUPP;

    /// <summary>listxattr(2).</summary>
    public virtual int ListXattr(out List<string> names)
    {
        names = new List<string>();
        return 0;
    }

    /// <summary>removexattr(2).</summary>
    public virtual int RemoveXattr(string name) => -Errno.ENODATA;

    /// <summary>The socket bound at this inode, for connect(2) on AF_UNIX paths (null if none).</summary>
    public object? BoundSocket { get; set; }

    /// <summary>Dentries of an evicting file system naming this inode that are not gone yet (<see cref="DentryCache"/>).</summary>
    internal int EvictableDentries;

    /// <summary>
    /// Called once when the last dentry naming this inode was evicted or died unreferenced (only on
    /// file systems with <see cref="FileSystem.EvictsDentries"/>): give back what the inode holds
    /// outside the Sentry (the gofer handle). Also called for an inode a lookup made but lost to a
    /// concurrent one.
    /// </summary>
    public virtual void Evicted()
    {
    }
}

/// <summary>One file system instance (a tmpfs, the gofer root, devfs, procfs).</summary>
internal abstract class FileSystem
{
    private static long s_nextDev = 0x100;

    /// <summary>st_dev of every file of this file system.</summary>
    public ulong DeviceId { get; } = (ulong)Interlocked.Increment(ref s_nextDev);

    /// <summary>The type name /proc/mounts shows ("tmpfs", "proc", "9p"...).</summary>
    public abstract string TypeName { get; }

    /// <summary>The file system's own options as /proc/mounts shows them after the generic ones ("" for none).</summary>
    public virtual string ShowOptions => "";

    /// <summary>
    /// True if the VFS may remember names that lookups did not find (every name is created
    /// through the VFS, as for the gofer's files, which the container owns).
    /// </summary>
    public virtual bool CachesMissingNames => false;

    /// <summary>
    /// True if unreferenced dentries of this file system may be evicted (<see cref="DentryCache"/>):
    /// its files can be looked up again (the gofer's). Not for tmpfs-like trees, whose dentries
    /// are the only way to their files.
    /// </summary>
    public virtual bool EvictsDentries => false;

    /// <summary>statfs f_type magic.</summary>
    public virtual long Magic => 0x01021994;

    /// <summary>The root directory.</summary>
    public abstract Inode Root { get; }

    /// <summary>Statistics of a memory-backed file system.</summary>
    public virtual StatFsInfo DefaultStatFs() => new()
    {
        Type = Magic, BlockSize = 4096, Blocks = 1 << 20, BlocksFree = 1 << 20, BlocksAvailable = 1 << 20,
        Files = 1 << 20, FilesFree = 1 << 20, NameLength = 255, FragmentSize = 4096,
    };

    /// <summary>The current time in nanoseconds since the epoch.</summary>
    public static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
