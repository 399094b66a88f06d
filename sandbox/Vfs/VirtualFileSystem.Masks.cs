using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Tmpfs;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// linux.readonlyPaths, linux.maskedPaths and linux.devices, applied after the spec's mounts in
/// runc's order (read-only paths, then masks, so a mask below a read-only path stays on top).
/// </summary>
internal sealed partial class VirtualFileSystem
{
    /// <summary>Set when a path of the spec could not be applied (boot fails: never run unprotected).</summary>
    public string? MountFailure { get; private set; }

    // Directories a Linux host's /proc and /sys have where the Sentry's have nothing: a mask of
    // one of them is an empty directory, of any other missing name a /dev/null file.
    private static readonly HashSet<string> s_hostDirectories = new(StringComparer.Ordinal)
    {
        "/proc/acpi", "/proc/asound", "/proc/scsi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/driver",
        "/proc/tty", "/sys/firmware", "/sys/devices/virtual/powercap", "/sys/kernel/security",
    };

    private TmpfsFileSystem? _maskFs;
    private Dentry? _maskNull;

    /// <summary>The null device (1:3, 0666) every file mask is a bind of, in a tmpfs of its own.</summary>
    private Dentry MaskNull()
    {
        if (_maskNull != null) return _maskNull;
        _maskFs = new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x1ed);
        var node = new TmpfsInode(_maskFs, LinuxMode.S_IFCHR | 0x1b6, 0, 0, DeviceRegistry.MakeDev(1, 3));
        _maskFs.RootInode.AddChild("null", node);
        _maskNull = new Dentry("/", null, _maskFs.Root).AddChild("null", node);
        return _maskNull;
    }

    private int ApplyPathRules(Spec spec)
    {
        foreach (string path in spec.Linux?.ReadonlyPaths ?? new List<string>())
        {
            int err = MakeReadOnly(NormalizeDestination(path));
            if (err != 0) { MountFailure = $"linux.readonlyPaths: {path}: errno {-err}"; return err; }
        }
        foreach (string path in spec.Linux?.MaskedPaths ?? new List<string>())
        {
            int err = Mask(NormalizeDestination(path));
            if (err != 0) { MountFailure = $"linux.maskedPaths: {path}: errno {-err}"; return err; }
        }
        return 0;
    }

    /// <summary>
    /// A read-only recursive bind of the path on itself, locked (runc: MS_BIND|MS_REC, then a
    /// read-only remount): writes, chmod, creates give EROFS. A missing path is skipped, as runc
    /// skips it (ENOENT).
    /// </summary>
    private int MakeReadOnly(string path)
    {
        int err = ResolveAbsolute(path, out var at);
        if (err == -Errno.ENOENT) return 0;
        if (err != 0) return err;
        var m = BindTree(at, at, recursive: true);
        m.Flags |= MountFlags.ReadOnly;
        m.Locked = true;
        return 0;
    }

    /// <summary>
    /// Masks a path as runc does: a directory gets an empty read-only tmpfs, anything else a bind
    /// of a null device (1:3, reads empty, writes discarded). Ours is read-only too (chmod and
    /// the like give EROFS; runc's bind of the container's /dev/null would change /dev/null) and
    /// locked. A path missing from the rootfs is skipped (runc: ENOENT); one missing from the
    /// Sentry's /proc or /sys, which Linux's have, is masked anyway on a mount point that lives
    /// only in the dentry cache, so the container sees what it would see under runc.
    /// </summary>
    private int Mask(string path)
    {
        int err = ResolveAbsolute(path, out var at);
        if (err == -Errno.ENOENT)
        {
            if (!MissingInSyntheticFs(path, out var parent, out string name)) return 0;
            bool dir = s_hostDirectories.Contains(path);
            var point = new TmpfsInode(s_mountPoints, dir ? LinuxMode.S_IFDIR | 0x1ed : LinuxMode.S_IFREG | 0x124, 0, 0);
            at = CrossMounts(new VfsPath(parent.Mount, parent.Dentry.AddChild(name, point)));
            err = 0;
        }
        if (err != 0) return err;
        Mount mask;
        if (at.Inode.IsDirectory)
        {
            mask = MountAt(at, new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x3ff), MountFlags.ReadOnly, "tmpfs");
        }
        else
        {
            var nullNode = MaskNull();
            mask = Attach(at, new Mount(_maskFs!, nullNode, MountFlags.ReadOnly | MountFlags.NoSuid) { Source = "tmpfs", ShownRoot = "/null" });
        }
        mask.Locked = true;
        return 0;
    }

    /// <summary>True when <paramref name="path"/> is missing below a mount of the Sentry's /proc or /sys whose parent exists.</summary>
    private bool MissingInSyntheticFs(string path, out VfsPath parent, out string name)
    {
        int slash = path.LastIndexOf('/');
        name = path[(slash + 1)..];
        string dir = slash <= 0 ? "/" : path[..slash];
        if (ResolveAbsolute(dir, out parent) != 0 || !parent.Inode.IsDirectory) return false;
        return parent.Mount.FileSystem is Proc.ProcFileSystem || parent.Mount.FileSystem.TypeName == "sysfs";
    }
}
