using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    private FdTable? _fds;
    private FsContext? _fs;

    /// <summary>
    /// The task's file descriptor table. Fork without CLONE_FILES assigns <c>parent.Fds.Fork()</c>;
    /// threads share the parent's instance. A new table starts with the process's RLIMIT_NOFILE
    /// (from the spec or the caller) as its limit.
    /// </summary>
    public FdTable Fds
    {
        get => _fds ??= new FdTable { Limit = InitialFileLimit() };
        set => _fds = value;
    }

    private int InitialFileLimit()
    {
        if (ThreadGroup is not { } g) return 1 << 20;
        ulong cur = g.Limits.Get(Rlimits.NOFILE).Cur;
        return (int)Math.Min(cur, 1 << 20);
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
