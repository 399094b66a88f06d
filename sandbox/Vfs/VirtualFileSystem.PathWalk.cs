using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

internal sealed partial class VirtualFileSystem
{
    /// <summary>
    /// Resolves <paramref name="path"/> starting at <paramref name="start"/> (absolute paths start
    /// at the task's root). Symlinks in the middle are always followed, the final one only with
    /// <paramref name="followFinal"/> or a trailing slash; more than 40 gives ELOOP. ".." never
    /// leaves the task's root and crosses mount roots to the mount point. A trailing slash
    /// requires a directory (ENOTDIR).
    /// </summary>
    public int Resolve(Task task, VfsPath start, string path, bool followFinal, out VfsPath result)
    {
        result = start;
        Proc.ProcFileSystem.CallerTask = task;
        if (path.Length == 0) return -Errno.ENOENT;
        var root = task.Fs.Root;
        bool trailingSlash = path[^1] == '/';
        if (trailingSlash) followFinal = true;
        var stack = new List<string>();
        PushComponents(stack, path);
        var cur = path[0] == '/' ? root : start;
        int symlinks = 0;
        int err = WalkStack(task, root, ref cur, stack, followFinal, ref symlinks);
        if (err != 0) return err;
        if (trailingSlash && !cur.Inode.IsDirectory) return -Errno.ENOTDIR;
        result = cur;
        return 0;
    }

    /// <summary>
    /// Resolves a path argument of an *at system call: relative paths start at
    /// <paramref name="dirfd"/> (AT_FDCWD: the cwd; EBADF/ENOTDIR for a bad fd); an empty path
    /// with AT_EMPTY_PATH names the fd itself (ENOENT without it).
    /// </summary>
    public int ResolveAt(Task task, int dirfd, string path, bool followFinal, bool allowEmpty, out VfsPath result)
    {
        result = default;
        if (path.Length == 0)
        {
            if (!allowEmpty) return -Errno.ENOENT;
            if (dirfd == PathConsts.AT_FDCWD) { result = task.Fs.Cwd; return 0; }
            var f = task.Fds.Get(dirfd);
            if (f == null) return -Errno.EBADF;
            if (f.Location is not { } loc) return -Errno.EBADF;
            result = loc;
            return 0;
        }
        int err = StartOf(task, dirfd, path, out var start);
        if (err != 0) return err;
        return Resolve(task, start, path, followFinal, out result);
    }

    /// <summary>The starting directory for a relative path of an *at call.</summary>
    public int StartOf(Task task, int dirfd, string path, out VfsPath start)
    {
        start = task.Fs.Cwd;
        if (path.Length > 0 && path[0] == '/') return 0;
        if (dirfd == PathConsts.AT_FDCWD) return 0;
        var f = task.Fds.Get(dirfd);
        if (f == null) return -Errno.EBADF;
        if (f.Location is not { } loc) return -Errno.ENOTDIR;
        if (!loc.Inode.IsDirectory) return -Errno.ENOTDIR;
        start = loc;
        return 0;
    }

    /// <summary>
    /// Resolves every component but the last (following symlinks) for calls that create or
    /// remove a name. <paramref name="name"/> is the last component ("" when the path is "/",
    /// possibly "." or ".."); <paramref name="trailingSlash"/> says whether it ended with '/'.
    /// </summary>
    public int ResolveParent(Task task, int dirfd, string path, out VfsPath parent, out string name, out bool trailingSlash)
    {
        parent = default;
        name = "";
        trailingSlash = false;
        Proc.ProcFileSystem.CallerTask = task;
        if (path.Length == 0) return -Errno.ENOENT;
        int err = StartOf(task, dirfd, path, out var start);
        if (err != 0) return err;
        string trimmed = path.TrimEnd('/');
        trailingSlash = trimmed.Length != path.Length;
        if (trimmed.Length == 0)
        {
            parent = task.Fs.Root;
            return 0;
        }
        int slash = trimmed.LastIndexOf('/');
        name = trimmed[(slash + 1)..];
        if (name.Length * 3 > PathConsts.NAME_MAX && Memory.LinuxText.ByteCount(name) > PathConsts.NAME_MAX) return -Errno.ENAMETOOLONG;
        var cur = path[0] == '/' ? task.Fs.Root : start;
        if (slash >= 0)
        {
            var stack = new List<string>();
            PushComponents(stack, trimmed[..(slash + 1)]);
            int symlinks = 0;
            err = WalkStack(task, task.Fs.Root, ref cur, stack, true, ref symlinks);
            if (err != 0) return err;
        }
        if (!cur.Inode.IsDirectory) return -Errno.ENOTDIR;
        parent = cur;
        return 0;
    }

    /// <summary>
    /// Looks up one component <paramref name="name"/> in directory <paramref name="dir"/> (search
    /// permission checked), through the dentry cache, crossing mounts; symlinks are not followed.
    /// </summary>
    public int LookupChild(Task task, VfsPath dir, string name, out VfsPath child)
    {
        Proc.ProcFileSystem.CallerTask = task;
        return LookupChild(task.Credentials, task.Fs.Root, dir, name, out child);
    }

    private int LookupChild(Credentials creds, VfsPath root, VfsPath dir, string name, out VfsPath child)
    {
        child = dir;
        if (!dir.Inode.IsDirectory) return -Errno.ENOTDIR;
        int err = Permissions.Check(creds, dir.Inode.Attr, Permissions.MayExec);
        if (err != 0) return err;
        if (name == ".") return 0;
        if (name == "..") { child = ParentOf(dir, root); return 0; }
        if (name.Length * 3 > PathConsts.NAME_MAX && Memory.LinuxText.ByteCount(name) > PathConsts.NAME_MAX) return -Errno.ENAMETOOLONG;
        var d = dir.Dentry.CachedChild(name);
        if (d == null)
        {
            if (dir.Dentry.KnownMissing(name)) return -Errno.ENOENT;
            err = dir.Inode.Lookup(name, out var inode);
            if (err == -Errno.ENOENT) dir.Dentry.AddMissing(name);
            if (err != 0) return err;
            d = dir.Dentry.AddLookedUp(name, inode!);
        }
        child = CrossMounts(new VfsPath(dir.Mount, d));
        return 0;
    }

    /// <summary>".." of <paramref name="p"/>: stays at the task's root, crosses up out of mounts.</summary>
    internal static VfsPath ParentOf(VfsPath p, VfsPath root)
    {
        while (true)
        {
            if (p.Mount == root.Mount && p.Dentry == root.Dentry) return p;
            if (p.Dentry == p.Mount.Root)
            {
                if (p.Mount.Parent == null || p.Mount.MountPoint == null) return p;
                p = new VfsPath(p.Mount.Parent, p.Mount.MountPoint);
                continue;
            }
            return new VfsPath(p.Mount, p.Dentry.Parent ?? p.Dentry);
        }
    }

    /// <summary>
    /// Resolves an absolute path from the root of the mount table being built (the sandbox's) as root with all capabilities, without a
    /// task (boot: mount points of the spec). Follows symlinks.
    /// </summary>
    public int ResolveAbsolute(string path, out VfsPath result)
    {
        var stack = new List<string>();
        PushComponents(stack, path);
        var root = BuildRoot;
        var cur = root;
        int symlinks = 0;
        int err = WalkStack(null, root, ref cur, stack, true, ref symlinks);
        result = cur;
        return err;
    }

    /// <summary>The most components <see cref="LookUpAhead"/> asks for at once.</summary>
    private const int MaxLookAhead = 32;

    /// <summary>
    /// Before looking up <paramref name="name"/> in <paramref name="dir"/>, when it is not cached
    /// and more plain components follow on <paramref name="stack"/>, asks the file system for all
    /// of them at once (the gofer walks them in one round trip) and caches what it found, and the
    /// first missing name, so the walk goes on through the cache. Only a cache fill: the walk still
    /// checks permissions, symlinks and mounts component by component.
    /// </summary>
    private static void LookUpAhead(VfsPath dir, string name, List<string> stack)
    {
        var parent = dir.Dentry;
        if (!parent.Inode.FileSystem.CachesMissingNames || !parent.Inode.IsDirectory) return;
        if (name == "." || name == ".." || parent.CachedChild(name) != null || parent.KnownMissing(name)) return;
        var names = new List<string> { name };
        for (int i = stack.Count - 1; i >= 0 && names.Count < MaxLookAhead; i--)
        {
            string next = stack[i];
            if (next == "." || next == ".." || next.Length > PathConsts.NAME_MAX) break;
            names.Add(next);
        }
        if (names.Count < 2) return;
        var found = new List<Inode>();
        int err = parent.Inode.LookupMany(names, found);
        if (err == -Errno.ENOSYS) return;
        var d = parent;
        for (int i = 0; i < found.Count; i++)
        {
            if (d.CachedChild(names[i]) is { } cached)
            {
                found[i].Evicted(); // already cached: give the new handle back
                d = cached;
            }
            else d = d.AddChild(names[i], found[i]);
        }
        if (err == -Errno.ENOENT && found.Count < names.Count && d.Inode.IsDirectory) d.AddMissing(names[found.Count]);
    }

    private static void PushComponents(List<string> stack, string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--) stack.Add(parts[i]);
    }

    private int WalkStack(Task? task, VfsPath root, ref VfsPath cur, List<string> stack, bool followFinal, ref int symlinks)
    {
        var creds = task?.Credentials ?? Credentials.Root;
        while (stack.Count > 0)
        {
            string name = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            bool last = stack.Count == 0;
            if (name.Length * 3 > PathConsts.NAME_MAX && Memory.LinuxText.ByteCount(name) > PathConsts.NAME_MAX) return -Errno.ENAMETOOLONG;
            if (!last) LookUpAhead(cur, name, stack);
            int err = LookupChild(creds, root, cur, name, out var child);
            if (err != 0) return err;
            if (child.Inode.IsSymlink && (!last || followFinal))
            {
                if (++symlinks > PathConsts.MaxSymlinks) return -Errno.ELOOP;
                if (task != null && child.Inode.MagicLinkTarget(task, out var jump) && jump is { } target)
                {
                    cur = target;
                    continue;
                }
                if (task != null && child.Inode.MagicLinkFile(task) is { } anon)
                {
                    // A pipe, socket or host fd: the walk ends at a stand-in for the open file.
                    if (!last) return -Errno.ENOTDIR;
                    var stand = new AnonymousFileInode(child.Inode.FileSystem, anon);
                    cur = new VfsPath(child.Mount, new Dentry(name, child.Dentry.Parent, stand) { Dead = true });
                    continue;
                }
                err = child.Inode.Readlink(task!, out string link);
                if (err != 0) return err;
                if (link.Length == 0) return -Errno.ENOENT;
                if (link[0] == '/') cur = root;
                PushComponents(stack, link);
                continue;
            }
            cur = child;
        }
        return 0;
    }
}
