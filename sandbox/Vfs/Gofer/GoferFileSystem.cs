using RunscNet.Gofer;

namespace RunscNet.Sentry.Vfs.Gofer;

/// <summary>
/// A file system served by the gofer: the container's root or one bind mount (attached by its
/// path in the gofer's tree). The dentry cache above it stays valid because every change is made
/// by the Sentry itself, which updates the cache as it goes; for the same reason it caches names
/// that do not exist (a repeated failed lookup makes no round trip).
/// </summary>
internal sealed class GoferFileSystem : FileSystem
{
    private readonly GoferInode _root;

    private GoferFileSystem(GoferClient client, ulong handle, GoferStat stat)
    {
        Client = client;
        _root = new GoferInode(this, handle, stat, 0);
    }

    /// <summary>Attaches to <paramref name="mountPath"/> ("/" for the root). Returns 0 or -errno.</summary>
    public static int Attach(GoferClient client, string mountPath, out GoferFileSystem? fs)
    {
        fs = null;
        int err = client.Attach(mountPath, out ulong handle, out var stat);
        if (err != 0) return err;
        fs = new GoferFileSystem(client, handle, stat);
        return 0;
    }

    /// <summary>The connection to the gofer.</summary>
    public GoferClient Client { get; }

    /// <inheritdoc/>
    public override string TypeName => "9p";

    /// <inheritdoc/>
    public override long Magic => 0x01021997;

    /// <inheritdoc/>
    public override Inode Root => _root;

    /// <inheritdoc/>
    public override bool CachesMissingNames => true;

    /// <inheritdoc/>
    public override bool EvictsDentries => true;
}
