using RunscNet.Sentry.Vfs.Tmpfs;

namespace RunscNet.Sentry.Vfs.Overlay;

/// <summary>
/// --overlay=memory: a copy-up layer held in the Sentry over a lower file system (the gofer
/// root). Reads come from the lower layer until a file is changed; any change copies the file
/// (and its parent directories) up into a tmpfs; deletions of lower names are recorded as
/// whiteouts. Nothing is ever written to the lower layer, so the host rootfs stays unchanged.
/// Renaming a directory that exists in the lower layer gives EXDEV, as Linux overlayfs without
/// redirect_dir does (mv then copies).
/// </summary>
internal sealed class OverlayFileSystem : FileSystem
{
    private readonly OverlayInode _root;

    /// <summary>Creates an overlay over <paramref name="lower"/>.</summary>
    public OverlayFileSystem(FileSystem lower)
    {
        Lower = lower;
        Upper = new TmpfsFileSystem(lower.Root.Mode, lower.Root.Attr.Uid, lower.Root.Attr.Gid, "tmpfs");
        Upper.RemoveLimits();   // the copy-ups stand for the root file system: only the memory cgroup bounds them
        _root = new OverlayInode(this, null, "", Upper.RootInode, lower.Root);
    }

    /// <summary>The read-only lower layer.</summary>
    public FileSystem Lower { get; }

    /// <summary>The memory upper layer.</summary>
    public TmpfsFileSystem Upper { get; }

    /// <inheritdoc/>
    public override string TypeName => "overlay";

    /// <inheritdoc/>
    public override long Magic => 0x794c7630;

    /// <inheritdoc/>
    public override Inode Root => _root;
}
