using RunscNet.Sentry.Vfs.Tmpfs;

namespace RunscNet.Sentry.Vfs.Dev;

/// <summary>
/// /dev as a container sees it: a tmpfs populated with the Sentry's devices (null, zero, full,
/// random, urandom, tty, console when the container has one), the /proc/self/fd links (fd, stdin,
/// stdout, stderr), and the pts (a mount point for <see cref="DevptsFileSystem"/>), shm and mqueue
/// directories.
/// </summary>
internal static class DevFileSystem
{
    /// <summary>Builds a fresh /dev.</summary>
    public static TmpfsFileSystem Create()
    {
        var fs = new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x1ed);
        var root = fs.RootInode;
        void Dev(string name, uint major, uint minor, uint perm = 0x1b6)
            => root.AddChild(name, new TmpfsInode(fs, LinuxMode.S_IFCHR | perm, 0, 0, DeviceRegistry.MakeDev(major, minor)));
        Dev("null", 1, 3);
        Dev("zero", 1, 5);
        Dev("full", 1, 7);
        Dev("random", 1, 8);
        Dev("urandom", 1, 9);
        Dev("tty", 5, 0);
        // As runc does for a container with a terminal: /dev/console is the console pty.
        if (DevptsFileSystem.Instance.HasConsole) Dev("console", 5, 1, 0x180);
        root.AddSymlink("fd", "/proc/self/fd");
        root.AddSymlink("stdin", "/proc/self/fd/0");
        root.AddSymlink("stdout", "/proc/self/fd/1");
        root.AddSymlink("stderr", "/proc/self/fd/2");
        // No /dev/core: runc makes it only when /proc/kcore exists, and our /proc has none.
        root.AddSymlink("ptmx", "pts/ptmx");
        root.AddChild("pts", new TmpfsInode(fs, LinuxMode.S_IFDIR | 0x1ed, 0, 0));
        root.AddChild("shm", new TmpfsInode(fs, LinuxMode.S_IFDIR | 0x3ff, 0, 0));
        root.AddChild("mqueue", new TmpfsInode(fs, LinuxMode.S_IFDIR | 0x3ff, 0, 0));
        return fs;
    }
}
