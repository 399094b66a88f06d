using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Tmpfs;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// linux.devices: device nodes made at boot with their type, number, mode and owner, as runc
/// makes them (type "u" is a character device; fileMode defaults to 0666, uid/gid to 0; a name
/// that exists already is kept). The nodes open the Sentry's devices (<see cref="DeviceRegistry"/>)
/// when linux.resources.devices allows it; numbers the Sentry has no driver for give ENXIO.
/// </summary>
internal sealed partial class VirtualFileSystem
{
    private int MakeSpecDevices(Spec spec)
    {
        foreach (var d in spec.Linux?.Devices ?? new List<Device>())
        {
            uint type = d.Type switch
            {
                "c" or "u" => LinuxMode.S_IFCHR,
                "b" => LinuxMode.S_IFBLK,
                "p" => LinuxMode.S_IFIFO,
                _ => 0,
            };
            string path = NormalizeDestination(d.Path);
            int err = type == 0 ? -Errno.EINVAL : MakeDevice(path, type, d);
            if (err != 0) { MountFailure = $"linux.devices: {d.Path}: errno {-err}"; return err; }
        }
        return 0;
    }

    private int MakeDevice(string path, uint type, Device d)
    {
        int slash = path.LastIndexOf('/');
        string name = path[(slash + 1)..];
        if (name.Length == 0) return -Errno.EINVAL;
        string dir = slash <= 0 ? "/" : path[..slash];
        int err = ResolveAbsolute(dir, out var parent);
        if (err == -Errno.ENOENT) err = MakeMountPoint(dir, out parent);
        if (err != 0) return err;
        if (!parent.Inode.IsDirectory) return -Errno.ENOTDIR;
        if (LookupChild(Credentials.Root, BuildRoot, parent, name, out _) == 0) return 0;
        uint perm = (d.FileMode ?? 0x1b6) & LinuxMode.PermMask;
        ulong rdev = type == LinuxMode.S_IFIFO ? 0 : DeviceRegistry.MakeDev((uint)d.Major, (uint)d.Minor);
        if (parent.Inode is TmpfsInode dirInode)
        {
            // /dev (a tmpfs of the Sentry): a real entry, listed by getdents.
            var node = new TmpfsInode(dirInode.FileSystem, type | perm, d.Uid ?? 0, d.Gid ?? 0, rdev);
            err = dirInode.AddChild(name, node);
            if (err != 0) return err;
            parent.Dentry.AddChild(name, node);
            return 0;
        }
        // Elsewhere (a gofer directory: the gofer makes no device nodes) the node lives in the
        // Sentry's dentry cache only, like the mount points made on a read-only root.
        var cached = new TmpfsInode(s_mountPoints, type | perm, d.Uid ?? 0, d.Gid ?? 0, rdev);
        parent.Dentry.Pin(parent.Dentry.AddChild(name, cached));
        return 0;
    }
}
