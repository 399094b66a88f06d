using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel;

public sealed partial class Task
{
    private FdTable? _fds;
    private FsContext? _fs;

    /// <summary>
    /// The task's file descriptor table. Fork without CLONE_FILES assigns <c>parent.Fds.Fork()</c>;
    /// threads share the parent's instance.
    /// </summary>
    public FdTable Fds
    {
        get => _fds ??= new FdTable();
        set => _fds = value;
    }

    /// <summary>
    /// The task's root, cwd and umask. Defaults to the sandbox root; fork without CLONE_FS assigns
    /// <c>parent.Fs.Fork()</c>.
    /// </summary>
    public FsContext Fs
    {
        get => _fs ??= new FsContext(Kernel.Vfs.RootPath);
        set => _fs = value;
    }
}
