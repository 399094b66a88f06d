using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Tmpfs;
using RunscNet.StateFile.Checkpoint;
using Task = RunscNet.Sentry.Kernel.Task;

namespace RunscNet.Sentry.Checkpoint;

/// <summary>
/// The files of the container's tmpfs mounts (/dev/shm, a spec's tmpfs /tmp, /dev), saved into a
/// checkpoint image and written back into the same mounts of the restored sandbox before any
/// process is rebuilt (so files open on them reopen by path). Directories, regular files (their
/// bytes in the page stream), symbolic links, FIFOs and hard links are kept with their modes,
/// owners and modification times; device nodes and sockets are not (the new sandbox makes its
/// own /dev; a bound socket makes its file again). Existing files of the new mount are
/// overwritten, existing directories kept. memfds, files deleted while open and shared mappings
/// of tmpfs files are not saved (the saver refuses what still uses them).
/// </summary>
internal static class TmpfsContents
{
    /// <summary>Files per image and bytes of one file beyond which a checkpoint is refused.</summary>
    public const int MaxEntries = 1 << 20;
    private const long MaxFileSize = 64L << 30;

    /// <summary>Whether <paramref name="inode"/> is a tmpfs file (mounted or not: memfds are tmpfs files too).</summary>
    public static bool IsTmpfs(Inode inode) => inode is TmpfsInode && inode.FileSystem is TmpfsFileSystem { TypeName: "tmpfs" };

    /// <summary>The tmpfs file systems mounted where the container's root reaches them: those whose contents a checkpoint saves.</summary>
    public static HashSet<FileSystem> Mounted(VirtualFileSystem vfs)
    {
        var set = new HashSet<FileSystem>(ReferenceEqualityComparer.Instance);
        foreach (var m in vfs.Mounts())
            if (m.FileSystem is TmpfsFileSystem { TypeName: "tmpfs" } fs && vfs.PathOf(new VfsPath(m, m.Root), vfs.RootPath).StartsWith('/'))
                set.Add(fs);
        return set;
    }

    /// <summary>Every tmpfs mount reachable from the container's root, each file system once.</summary>
    public static List<TmpfsMountImage> Save(Kernel.Kernel kernel, Task task, ImageWriter writer)
    {
        var vfs = kernel.Vfs;
        var result = new List<TmpfsMountImage>();
        var seen = new HashSet<FileSystem>(ReferenceEqualityComparer.Instance);
        int entries = 0;
        foreach (var m in vfs.Mounts())
        {
            // Read-only tmpfs mounts (masked paths) hold nothing the application wrote.
            if (m.FileSystem is not TmpfsFileSystem { TypeName: "tmpfs" } fs || m.ReadOnly || !seen.Add(fs)) continue;
            string path = vfs.PathOf(new VfsPath(m, m.Root), vfs.RootPath);
            if (!path.StartsWith('/')) continue;   // not reachable from the container's root
            var image = new TmpfsMountImage { Path = path };
            var links = new Dictionary<Inode, string>(ReferenceEqualityComparer.Instance);
            Walk(task, m.Root.Inode, "", image, links, writer, ref entries);
            result.Add(image);
        }
        return result;
    }

    private static void Walk(Task task, Inode dir, string rel, TmpfsMountImage image, Dictionary<Inode, string> links, ImageWriter writer, ref int entries)
    {
        if (dir.Stat(out var attr) != 0) return;
        image.Entries.Add(new TmpfsEntryImage { Path = rel, Mode = attr.Mode, Uid = attr.Uid, Gid = attr.Gid, MtimeNs = attr.MtimeNs });
        if (dir.ReadDir(out var list) != 0) return;
        foreach (var e in list)
        {
            if (e.Name is "." or "..") continue;
            if (dir.Lookup(e.Name, out var child) != 0 || child == null || child.Stat(out var a) != 0) continue;
            if (++entries > MaxEntries) throw new CheckpointRefusedException($"checkpoint: the tmpfs mount at {image.Path} holds more than {MaxEntries} files");
            string path = rel.Length == 0 ? e.Name : rel + "/" + e.Name;
            uint type = a.Mode & LinuxMode.S_IFMT;
            if (type == LinuxMode.S_IFDIR)
            {
                Walk(task, child, path, image, links, writer, ref entries);
                continue;
            }
            if (type is LinuxMode.S_IFCHR or LinuxMode.S_IFBLK or LinuxMode.S_IFSOCK) continue;
            var entry = new TmpfsEntryImage { Path = path, Mode = a.Mode, Uid = a.Uid, Gid = a.Gid, MtimeNs = a.MtimeNs };
            if (type == LinuxMode.S_IFREG && links.TryGetValue(child, out var first))
            {
                entry.LinkTo = first;
            }
            else if (type == LinuxMode.S_IFREG)
            {
                links[child] = path;
                if (a.Size > MaxFileSize) throw new CheckpointRefusedException($"checkpoint: {image.Path}/{path} is larger than {MaxFileSize >> 30} GiB");
                entry.Size = a.Size;
                entry.FirstPage = writer.PageCount;
                SaveData(task, child, a.Size, writer, $"{image.Path}/{path}");
            }
            else if (type == LinuxMode.S_IFLNK)
            {
                if (child.Readlink(task, out string target) != 0) continue;
                entry.Target = target;
            }
            image.Entries.Add(entry);
        }
    }

    private static void SaveData(Task task, Inode file, long size, ImageWriter writer, string name)
    {
        if (file.Open(task, OpenFlags.O_RDONLY, out var f) != 0 || f == null)
            throw new CheckpointRefusedException($"checkpoint: tmpfs file {name} cannot be read");
        try
        {
            var page = new byte[CheckpointImage.PageSize];
            for (long at = 0; at < size; at += page.Length)
            {
                Array.Clear(page);
                long n = f.PRead(task, page, at);
                if (n < 0) throw new CheckpointRefusedException($"checkpoint: reading tmpfs file {name}: errno {-n}");
                writer.AddPage(page);
            }
        }
        finally
        {
            f.DecRef();
        }
    }

    private static InvalidOperationException Fail(string why) => new($"restore: {why}");

    /// <summary>
    /// Writes the saved files into the restored sandbox's mounts, as <paramref name="task"/> (a
    /// root task in the container's root). Throws with one line for a malformed record or a
    /// mount the new sandbox lacks.
    /// </summary>
    public static void Restore(Kernel.Kernel kernel, ImageReader image, Task task)
    {
        var vfs = kernel.Vfs;
        int total = 0;
        foreach (var m in image.Graph.Tmpfs)
        {
            if (!m.Path.StartsWith('/') || m.Path.Length > 4096 || m.Path.Contains('\0')) throw Fail("a tmpfs mount has an invalid path");
            int err = vfs.Resolve(task, vfs.RootPath, m.Path, true, out var root);
            if (err != 0 || root.Dentry != root.Mount.Root || !IsTmpfs(root.Inode))
                throw Fail($"the new sandbox has no tmpfs mount at {m.Path} for the saved files (is it in the bundle's mounts?)");
            foreach (var e in m.Entries)
            {
                if (++total > MaxEntries) throw Fail("the image holds too many tmpfs files");
                RestoreEntry(task, vfs, image, m.Path, root.Mount, e);
            }
        }
    }

    private static void RestoreEntry(Task task, VirtualFileSystem vfs, ImageReader image, string mount, Mount into, TmpfsEntryImage e)
    {
        if (e.Path.Length > 4096 || e.Path.Contains('\0') || e.Path.StartsWith('/') || e.Path.Split('/').Any(p => p is "" or "." or "..") && e.Path.Length > 0)
            throw Fail($"a file of the tmpfs at {mount} has an invalid path");
        string path = e.Path.Length == 0 ? mount : (mount == "/" ? "/" : mount + "/") + e.Path;
        uint type = e.Mode & LinuxMode.S_IFMT;
        uint perm = e.Mode & 0xfff;
        int err = 0;
        // Every file is made inside this mount: a saved symlink must not lead a later entry elsewhere.
        if (e.Path.Length > 0)
        {
            string parent = path[..path.LastIndexOf('/')];
            if (vfs.Resolve(task, vfs.RootPath, parent.Length == 0 ? "/" : parent, false, out var dir) != 0 || dir.Mount != into || !dir.Inode.IsDirectory)
                throw Fail($"{path}: its directory is not a directory of the tmpfs at {mount} in the new sandbox");
        }
        bool exists = vfs.Resolve(task, vfs.RootPath, path, false, out var loc) == 0;
        // A mount point of the new sandbox (/dev/pts on /dev): the mount's own files are not this tmpfs's.
        if (exists && loc.Mount != into) return;
        switch (type)
        {
            case LinuxMode.S_IFDIR:
                if (!exists) err = vfs.Mkdir(task, PathConsts.AT_FDCWD, path, perm);
                else if (!loc.Inode.IsDirectory) throw Fail($"{path} is a directory in the image but not in the new sandbox");
                break;
            case LinuxMode.S_IFREG when e.LinkTo.Length > 0:
                if (e.LinkTo.Contains('\0') || e.LinkTo.StartsWith('/') || e.LinkTo.Split('/').Any(p => p is "" or "." or ".."))
                    throw Fail($"{path}: invalid hard link target");
                string first = (mount == "/" ? "/" : mount + "/") + e.LinkTo;
                if (vfs.Resolve(task, vfs.RootPath, first, false, out var original) != 0 || original.Mount != into || !LinuxMode.IsReg(original.Inode.Mode))
                    throw Fail($"{path}: its hard link target {first} is not a file of the tmpfs at {mount}");
                if (exists) vfs.Remove(task, PathConsts.AT_FDCWD, path, directory: false);
                err = vfs.Link(task, PathConsts.AT_FDCWD, (mount == "/" ? "/" : mount + "/") + e.LinkTo, PathConsts.AT_FDCWD, path, 0);
                if (err != 0) throw Fail($"linking {path} again: errno {-err}");
                return;
            case LinuxMode.S_IFREG:
                if (e.Size < 0 || e.Size > MaxFileSize) throw Fail($"{path} has an invalid size");
                err = vfs.Open(task, PathConsts.AT_FDCWD, path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC | OpenFlags.O_NOFOLLOW, perm, out var f);
                if (err != 0 || f == null) throw Fail($"recreating tmpfs file {path}: errno {-err}");
                try
                {
                    long pages = (e.Size + CheckpointImage.PageSize - 1) / CheckpointImage.PageSize;
                    for (long i = 0; i < pages; i++)
                    {
                        var data = image.Page(e.FirstPage + i);
                        long at = i * CheckpointImage.PageSize;
                        int n = (int)Math.Min(CheckpointImage.PageSize, e.Size - at);
                        if (f.PWrite(task, data[..n], at) != n) throw Fail($"writing tmpfs file {path} again failed");
                    }
                }
                finally
                {
                    f.DecRef();
                }
                break;
            case LinuxMode.S_IFLNK:
                if (e.Target.Length is 0 or > 4096 || e.Target.Contains('\0')) throw Fail($"{path}: invalid symbolic link target");
                if (exists) return;
                err = vfs.Symlink(task, e.Target, PathConsts.AT_FDCWD, path);
                break;
            case LinuxMode.S_IFIFO:
                if (exists) return;
                err = vfs.Mknod(task, PathConsts.AT_FDCWD, path, LinuxMode.S_IFIFO | perm, 0);
                break;
            default:
                throw Fail($"{path} has an unsupported file type in the image");
        }
        if (err != 0) throw Fail($"recreating {path}: errno {-err}");
        if (vfs.Resolve(task, vfs.RootPath, path, false, out loc) != 0) throw Fail($"{path} vanished while it was recreated");
        var r = new SetAttrRequest { Mask = SetAttrMask.Uid | SetAttrMask.Gid | SetAttrMask.Mtime, Uid = e.Uid, Gid = e.Gid, MtimeNs = e.MtimeNs };
        if (type != LinuxMode.S_IFLNK) { r.Mask |= SetAttrMask.Mode; r.Mode = perm; }
        err = vfs.SetAttr(task, loc, r);
        if (err != 0 && type != LinuxMode.S_IFLNK && e.Path.Length > 0) throw Fail($"setting the owner and mode of {path}: errno {-err}");
    }
}
