using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Inotify;

namespace RunscNet.Sentry.Syscalls;

/// <summary>inotify(7): inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch.</summary>
internal static class InotifySyscalls
{
    private const int IN_NONBLOCK = OpenFlags.O_NONBLOCK, IN_CLOEXEC = OpenFlags.O_CLOEXEC;
    private const int AT_FDCWD = -100;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        const string note = "Events come from file operations made through the Sentry; changes the host makes to gofer-backed files are not seen. IN_DELETE_SELF comes at the last unlink even while the file is open.";
        t.Partial(253, "inotify_init", (Task task, in SyscallArguments a) => Init(task, 0), note);
        t.Partial(294, "inotify_init1", (Task task, in SyscallArguments a) => Init(task, (int)a.A0), note);
        t.Partial(254, "inotify_add_watch", AddWatch, note);
        t.Supported(255, "inotify_rm_watch", RemoveWatch);
    }

    /// <summary>inotify_init1(2): IN_NONBLOCK and IN_CLOEXEC only (EINVAL otherwise).</summary>
    private static long Init(Task t, int flags)
    {
        if ((flags & ~(IN_NONBLOCK | IN_CLOEXEC)) != 0) return -Errno.EINVAL;
        return t.Fds.InstallNew(new InotifyFile(flags & IN_NONBLOCK), (flags & IN_CLOEXEC) != 0);
    }

    /// <summary>
    /// inotify_add_watch(2): EINVAL for unknown bits, no event bit, or IN_MASK_ADD with
    /// IN_MASK_CREATE; EBADF for a closed fd, EINVAL when it is not an inotify instance; the path
    /// is followed unless IN_DONT_FOLLOW; ENOTDIR with IN_ONLYDIR on a non-directory; EACCES
    /// without read permission. Returns the (possibly existing) watch descriptor.
    /// </summary>
    private static long AddWatch(Task t, in SyscallArguments a)
    {
        uint mask = (uint)a.A2;
        if ((mask & ~InotifyMask.AllBits) != 0) return -Errno.EINVAL;
        if ((mask & InotifyMask.AllEvents) == 0) return -Errno.EINVAL;
        if ((mask & InotifyMask.IN_MASK_ADD) != 0 && (mask & InotifyMask.IN_MASK_CREATE) != 0) return -Errno.EINVAL;
        var f = t.Fds.GetRef((int)a.A0);
        if (f == null) return -Errno.EBADF;
        try
        {
            if (f is not InotifyFile inotify) return -Errno.EINVAL;
            int err = FileSyscalls.Path(t, a.A1, out string path);
            if (err != 0) return err;
            err = t.Kernel.Vfs.ResolveAt(t, AT_FDCWD, path, (mask & InotifyMask.IN_DONT_FOLLOW) == 0, allowEmpty: false, out var loc);
            if (err != 0) return err;
            if ((mask & InotifyMask.IN_ONLYDIR) != 0 && !loc.Inode.IsDirectory) return -Errno.ENOTDIR;
            err = Permissions.Check(t.Credentials, loc.Inode.Attr, Permissions.MayRead);
            if (err != 0) return err;
            return inotify.AddWatch(loc.Inode, mask, loc);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>inotify_rm_watch(2): EBADF/EINVAL for the fd as add_watch; EINVAL for an unknown wd. Queues IN_IGNORED.</summary>
    private static long RemoveWatch(Task t, in SyscallArguments a)
    {
        var f = t.Fds.Get((int)a.A0);
        if (f == null) return -Errno.EBADF;
        if (f is not InotifyFile inotify) return -Errno.EINVAL;
        return inotify.RemoveWatch((int)a.A1);
    }
}
