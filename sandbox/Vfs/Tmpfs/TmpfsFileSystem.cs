namespace RunscNet.Sentry.Vfs.Tmpfs;

/// <summary>
/// A memory file system (tmpfs): the tree lives in the Sentry; regular files are backed by host
/// memfds so they can be mapped like gofer files. Used for spec `tmpfs` mounts, /dev/shm, /dev,
/// the memory overlay's upper layer, and memfd_create.
/// </summary>
public sealed class TmpfsFileSystem : FileSystem
{
    private readonly TmpfsInode _root;

    /// <summary>Creates an empty tmpfs whose root has <paramref name="rootMode"/> (default 1777).</summary>
    public TmpfsFileSystem(uint rootMode = LinuxMode.S_IFDIR | 0x3ff, uint uid = 0, uint gid = 0, string typeName = "tmpfs")
    {
        TypeName = typeName;
        _root = new TmpfsInode(this, rootMode, uid, gid);
    }

    /// <inheritdoc/>
    public override string TypeName { get; }

    /// <inheritdoc/>
    public override long Magic => 0x01021994;

    /// <inheritdoc/>
    public override Inode Root => _root;

    /// <summary>The root as a tmpfs inode (to populate it at boot).</summary>
    public TmpfsInode RootInode => _root;
}
