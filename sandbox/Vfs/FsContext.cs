namespace RunscNet.Sentry.Vfs;

/// <summary>
/// A task's file system context (fs_struct): root directory (chroot), working directory and
/// umask. Shared by tasks created with CLONE_FS; <see cref="Fork"/> copies it otherwise.
/// Root and cwd dentries are pinned in the dentry cache for good (<see cref="Dentry.PinForever"/>):
/// a context has no release hook yet, and the directories processes chdir into are few.
/// </summary>
internal sealed class FsContext
{
    private readonly object _lock = new();
    private VfsPath _root;
    private VfsPath _cwd;
    private int _umask;

    /// <summary>Creates a context with root and cwd at <paramref name="root"/> and umask 022.</summary>
    public FsContext(VfsPath root)
    {
        root.Dentry.PinForever();
        _root = root;
        _cwd = root;
        _umask = 0x12;
    }

    /// <summary>The task's root directory (chroot(2)); ".." never leaves it.</summary>
    public VfsPath Root
    {
        get { lock (_lock) return _root; }
        set
        {
            value.Dentry.PinForever();
            lock (_lock) _root = value;
        }
    }

    /// <summary>The working directory (chdir(2)).</summary>
    public VfsPath Cwd
    {
        get { lock (_lock) return _cwd; }
        set
        {
            value.Dentry.PinForever();
            lock (_lock) _cwd = value;
        }
    }

    /// <summary>The file mode creation mask (umask(2)), 9 bits.</summary>
    public int Umask
    {
        get { lock (_lock) return _umask; }
        set { lock (_lock) _umask = value & 0x1ff; }
    }

    /// <summary>Sets the umask and returns the previous one (umask(2)).</summary>
    public int SwapUmask(int value)
    {
        lock (_lock)
        {
            int old = _umask;
            _umask = value & 0x1ff;
            return old;
        }
    }

    /// <summary>A copy for fork/clone without CLONE_FS.</summary>
    public FsContext Fork()
    {
        lock (_lock) return new FsContext(_root) { _cwd = _cwd, _umask = _umask };
    }
}
