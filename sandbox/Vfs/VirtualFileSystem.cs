using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Tmpfs;

// Lock order of the VFS (Vfs/ and its file systems), outermost first. "A -> B": B may be taken
// while A is held, never A while B is held. Read from the lock sites; keep it true.
//
//   VirtualFileSystem._buildLock -> VirtualFileSystem._mountLock   building a container's mounts
//   DentryCache.s_lock -> Dentry (lock (dentry))   eviction; one dentry at a time, and Dentry
//                                                  calls DentryCache only after leaving its lock
//   DentryCache.s_lock -> InotifyRegistry's list   eviction skips inodes with a watch
//   DirectoryFile._lock -> the inode's ReadDir     a tmpfs or overlay inode's lock; /proc's
//                                                  listings take Kernel.TaskLock
//   OverlayInode._lock -> TmpfsInode._lock         copy-up adds the child to the upper parent
//   AddressSpace._lock -> a file's read path       mmap copies file data in (Memory/AddressSpace.cs)
//   Pipe._lock, EventFdFile._lock, UnixSocket.s_lock, FileLocks.s_lock -> WaitQueue/Waiter
//                                                  they notify waiters under their own lock
//   EpollFile._lock -> WaitQueue._waiters          EPOLL_CTL adds its edge hook to the file's queue;
//                                                  readiness is polled after leaving the lock
//   UnixSocket.s_lock -> the host socket's release a bound host socket's last reference
//
// TmpfsInode._lock and GoferInode._lock are held for one inode at a time (rename and link
// update the two directories one after the other). An epoll edge hook runs under the notifier's
// locks and only sets a flag.
// Leaves: FdTable._lock, FsContext._lock, HostRegularFile._offsetLock, TmpfsSpace._lock,
// GoferChangeTracker._entries, DevptsFileSystem._terminals, HostFdPoller._lock.

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// The Sentry's VFS: the mount table built from the OCI spec, path walk (symlinks followed here,
/// never by the gofer), and opening files for system calls and for the loader. One instance per
/// sandbox. Partial files: PathWalk (resolution), Operations (what the path system calls do),
/// Container (the mount table from the spec).
/// </summary>
internal sealed partial class VirtualFileSystem
{
    private readonly object _mountLock = new();
    private readonly Dictionary<(Mount, Dentry), Mount> _mountsByPoint = new();
    private readonly List<Mount> _mounts = new();

    /// <summary>Creates a VFS whose root is an empty tmpfs until <c>MountContainer</c> or <see cref="SetRoot"/>.</summary>
    public VirtualFileSystem()
    {
        var fs = new TmpfsFileSystem();
        RootMount = new Mount(fs, new Dentry("/", null, fs.Root), MountFlags.None) { Source = "none" };
        _mounts.Add(RootMount);
    }

    /// <summary>Host unix sockets in gofer mounts the container may connect to or bind (--host-uds; none by default).</summary>
    public RunscNet.Gofer.HostUnixSockets HostUds { get; set; }

    /// <summary>linux.resources.devices: which device nodes may be opened and made (allow all until the spec's are set).</summary>
    public Dev.DeviceAccessRules DeviceRules { get; set; } = Dev.DeviceAccessRules.AllowAll;

    /// <summary>AF_UNIX sockets bound to abstract names (hex of the name bytes → socket).</summary>
    internal Dictionary<string, object> AbstractSockets { get; } = new();

    /// <summary>The root mount of the sandbox.</summary>
    public Mount RootMount { get; private set; }

    /// <summary>The sandbox's root directory.</summary>
    public VfsPath RootPath => new(RootMount, RootMount.Root);

    /// <summary>Replaces the root file system (boot, before any task runs).</summary>
    public Mount SetRoot(FileSystem fs, MountFlags flags, string source)
    {
        lock (_mountLock)
        {
            RootMount = new Mount(fs, new Dentry("/", null, fs.Root), flags) { Source = source };
            _mounts.Clear();
            _mountsByPoint.Clear();
            _mounts.Add(RootMount);
            return RootMount;
        }
    }

    /// <summary>Mounts <paramref name="fs"/> on directory <paramref name="at"/> (stacking on an existing mount there).</summary>
    public Mount MountAt(VfsPath at, FileSystem fs, MountFlags flags, string source)
        => Attach(at, new Mount(fs, new Dentry("/", null, fs.Root), flags) { Source = source });

    /// <summary>
    /// Bind-mounts the directory or file at <paramref name="source"/> on <paramref name="at"/>
    /// (MS_BIND within the sandbox: the new mount shows the same file system from that dentry).
    /// </summary>
    public Mount BindAt(VfsPath at, VfsPath source, MountFlags flags, string sourceName)
        => Attach(at, new Mount(source.Mount.FileSystem, source.Dentry, flags) { Source = sourceName });

    private Mount Attach(VfsPath at, Mount m)
    {
        lock (_mountLock)
        {
            m.Parent = at.Mount;
            m.MountPoint = at.Dentry;
            _mountsByPoint[(at.Mount, at.Dentry)] = m;
            Interlocked.Increment(ref at.Dentry.MountCount);
            at.Dentry.Parent?.Pin(at.Dentry);
            _mounts.Add(m);
        }
        return m;
    }

    /// <summary>Every mount, in mount order (for /proc/mounts).</summary>
    public List<Mount> Mounts()
    {
        lock (_mountLock) return new List<Mount>(_mounts);
    }

    /// <summary>Follows mounts stacked on <paramref name="p"/> to the topmost mount's root.</summary>
    internal VfsPath CrossMounts(VfsPath p)
    {
        while (p.Dentry.MountCount > 0)
        {
            Mount? m;
            lock (_mountLock) _mountsByPoint.TryGetValue((p.Mount, p.Dentry), out m);
            if (m == null) break;
            p = new VfsPath(m, m.Root);
        }
        return p;
    }

    /// <summary>True if <paramref name="p"/> is the root of a mount (rmdir/rename give EBUSY).</summary>
    internal bool IsMountRootOrPoint(VfsPath p)
        => p.Dentry == p.Mount.Root || p.Dentry.MountCount > 0;

    /// <summary>
    /// The absolute path of <paramref name="p"/> as seen from <paramref name="root"/> (getcwd,
    /// /proc/self/fd). Unreachable locations get Linux's "(unreachable)" prefix; unlinked ones
    /// a " (deleted)" suffix.
    /// </summary>
    public string PathOf(VfsPath p, VfsPath root)
    {
        var parts = new List<string>();
        var cur = p;
        bool reachable = false;
        for (int guard = 0; guard < 4096; guard++)
        {
            if (cur.Mount == root.Mount && cur.Dentry == root.Dentry) { reachable = true; break; }
            if (cur.Dentry == cur.Mount.Root)
            {
                if (cur.Mount.Parent == null || cur.Mount.MountPoint == null) break;
                cur = new VfsPath(cur.Mount.Parent, cur.Mount.MountPoint);
                continue;
            }
            parts.Add(cur.Dentry.Name);
            if (cur.Dentry.Parent == null) break;
            cur = new VfsPath(cur.Mount, cur.Dentry.Parent);
        }
        parts.Reverse();
        string s = "/" + string.Join('/', parts);
        if (!reachable) s = "(unreachable)" + s;
        if (p.Dentry.Dead) s += " (deleted)";
        return s;
    }

    /// <summary>
    /// Opens <paramref name="path"/> (relative to the task's cwd) for execve: follows symlinks,
    /// requires a regular file with execute permission for the task (EACCES), and an exec-allowed
    /// mount. Returns 0 or -errno (ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG...).
    /// <paramref name="resolvedPath"/> is the absolute path.
    /// </summary>
    public int OpenExecutable(Task task, string path, out FileDescription? file, out string resolvedPath)
    {
        file = null;
        resolvedPath = path;
        if (path.Length == 0) return -Errno.ENOENT;
        if (path.Length >= PathConsts.PATH_MAX) return -Errno.ENAMETOOLONG;
        int err = Resolve(task, task.Fs.Cwd, path, followFinal: true, out var loc);
        if (err != 0) return err;
        var inode = loc.Inode;
        if (inode.IsDirectory || !LinuxMode.IsReg(inode.Mode)) return -Errno.EACCES;
        if ((loc.Mount.Flags & MountFlags.NoExec) != 0) return -Errno.EACCES;
        err = Permissions.Check(task.Credentials, inode.Attr, Permissions.MayExec);
        if (err != 0) return err;
        err = inode.Open(task, OpenFlags.O_RDONLY, out file);
        if (err != 0) return err;
        file!.StatusFlags = OpenFlags.O_RDONLY | OpenFlags.O_LARGEFILE;
        file.Location = loc;
        resolvedPath = PathOf(loc, task.Fs.Root);
        loc.Dentry.PinForever(); // /proc/PID/exe opens it again
        _executables.AddOrUpdate(task, new System.Runtime.CompilerServices.StrongBox<VfsPath>(loc));
        return 0;
    }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Task, System.Runtime.CompilerServices.StrongBox<VfsPath>> _executables = new();

    /// <summary>
    /// fork/clone: the child runs the same program (/proc/PID/exe belongs to the memory image, which
    /// the child copies or shares) until it executes another.
    /// </summary>
    public void InheritExecutable(Task parent, Task child)
    {
        if (_executables.TryGetValue(parent, out var b))
            _executables.AddOrUpdate(child, new System.Runtime.CompilerServices.StrongBox<VfsPath>(b.Value));
    }

    /// <summary>Records <paramref name="loc"/> as the program <paramref name="task"/> runs (a restored process's /proc/PID/exe).</summary>
    public void SetExecutable(Task task, VfsPath loc)
    {
        loc.Dentry.PinForever();
        _executables.AddOrUpdate(task, new System.Runtime.CompilerServices.StrongBox<VfsPath>(loc));
    }

    /// <summary>The file last opened by <see cref="OpenExecutable"/> for <paramref name="task"/> (/proc/pid/exe), if any.</summary>
    public VfsPath? ExecutableOf(Task task) => _executables.TryGetValue(task, out var b) ? b.Value : null;
}
