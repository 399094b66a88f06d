using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// What a path walk ends at when it follows /proc/PID/fd/N to a file outside any file system (a
/// pipe, socket or host fd): stat reports the open file, and opening re-opens it.
/// </summary>
internal sealed class AnonymousFileInode : Inode
{
    private readonly FileDescription _file;

    /// <summary>Stands in for <paramref name="file"/>.</summary>
    public AnonymousFileInode(FileSystem fs, FileDescription file) : base(fs)
    {
        _file = file;
    }

    /// <inheritdoc/>
    public override bool CachesLookups => false;

    /// <inheritdoc/>
    public override InodeAttr Attr
    {
        get
        {
            _file.Stat(out var a);
            // Reachable only through the owner's /proc/PID/fd: whoever walked there may open it
            // within the access mode of the original open.
            a.Mode = (a.Mode & LinuxMode.S_IFMT) | 0x1b6;
            if (Proc.ProcFileSystem.CallerTask is { } t)
            {
                a.Uid = t.Credentials.Fsuid;
                a.Gid = t.Credentials.Fsgid;
            }
            return a;
        }
    }

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr) => _file.Stat(out attr);

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file) => _file.Reopen(task, flags, out file);
}
