using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Tmpfs;

/// <summary>
/// The hidden tmpfs behind memfd_create(2): each memfd is an unlinked tmpfs file (its data a
/// host memfd, so it can be mapped shared), shown as "/memfd:NAME (deleted)".
/// </summary>
internal static class MemfdFileSystem
{
    private static readonly TmpfsFileSystem s_fs = Unlimited();

    // Linux's memfds live on the kernel's internal shmem mount, which has no size= (the memory
    // cgroup bounds them).
    private static TmpfsFileSystem Unlimited()
    {
        var fs = new TmpfsFileSystem(typeName: "tmpfs");
        fs.RemoveLimits();
        return fs;
    }
    private static readonly Mount s_mount = new(s_fs, new Dentry("/", null, s_fs.Root), MountFlags.None) { Source = "memfd" };

    /// <summary>
    /// Creates a new memfd description (one reference, owned by the caller), open O_RDWR. Without
    /// <paramref name="allowSealing"/> it has F_SEAL_SEAL; with <paramref name="noExecSeal"/> it
    /// is mode 0666 with F_SEAL_EXEC (and sealable), as memfd_create(2) says.
    /// </summary>
    public static FileDescription Create(Task task, string name, bool allowSealing = false, bool noExecSeal = false)
    {
        var inode = new TmpfsInode(s_fs, LinuxMode.S_IFREG | (noExecSeal ? 0x1b6u : 0x1ffu), task.Credentials.Fsuid, task.Credentials.Fsgid);
        inode.InitSeals(noExecSeal ? TmpfsInode.SealExec : allowSealing ? 0 : TmpfsInode.SealSeal);
        var dentry = new Dentry("memfd:" + name, s_mount.Root, inode) { Dead = true };
        inode.Open(task, OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE, out var file);
        // The inode never had a link: its data goes when the last description closes.
        inode.MarkUnlinked();
        file!.Location = new VfsPath(s_mount, dentry);
        file.StatusFlags = OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE;
        return file;
    }

    /// <summary>Whether <paramref name="inode"/> is a memfd's.</summary>
    public static bool IsMemfd(Inode? inode) => inode is TmpfsInode && ReferenceEquals(inode.FileSystem, s_fs);

    /// <summary>
    /// Restore: a memfd named <paramref name="name"/> with <paramref name="mode"/> and owner,
    /// filled by <paramref name="fill"/> (which writes through the description) before its
    /// <paramref name="seals"/> are set; open with <paramref name="status"/>.
    /// </summary>
    public static FileDescription Restore(Task task, string name, uint mode, uint uid, uint gid, int seals, int status, Action<FileDescription> fill)
    {
        var inode = new TmpfsInode(s_fs, LinuxMode.S_IFREG | (mode & 0xfff), uid, gid);
        inode.InitSeals(0);
        var dentry = new Dentry("memfd:" + name, s_mount.Root, inode) { Dead = true };
        inode.Open(task, OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE, out var file);
        inode.MarkUnlinked();
        file!.Location = new VfsPath(s_mount, dentry);
        try
        {
            fill(file);
        }
        catch
        {
            file.DecRef();
            throw;
        }
        // Through F_ADD_SEALS: the data seals are the host memfd's own, which enforce them.
        if (seals != 0 && inode.AddSeals(seals) is var err && err < 0)
        {
            file.DecRef();
            throw new InvalidOperationException($"restore: memfd {name}: its seals {seals:x} cannot be set again: errno {-err}");
        }
        file.StatusFlags = status;
        return file;
    }
}
