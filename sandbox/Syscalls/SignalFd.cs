using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Event;

namespace RunscNet.Sentry.Syscalls;

/// <summary>signalfd(2) and signalfd4(2): files that read pending signals.</summary>
internal static class SignalFdSyscalls
{
    private const int SFD_CLOEXEC = OpenFlags.O_CLOEXEC, SFD_NONBLOCK = OpenFlags.O_NONBLOCK;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(282, "signalfd", (Task task, in SyscallArguments a) => Signalfd4(task, (int)a.A0, a.A1, a.A2, 0));
        t.Supported(289, "signalfd4", (Task task, in SyscallArguments a) => Signalfd4(task, (int)a.A0, a.A1, a.A2, (int)a.A3));
    }

    /// <summary>
    /// signalfd4(2): EINVAL unless sizemask is 8; EFAULT for an unreadable mask; EINVAL for flags
    /// other than SFD_CLOEXEC/SFD_NONBLOCK. fd -1 makes a new signalfd; an existing signalfd gets
    /// the new mask (its flags are left alone); EBADF for a closed fd, EINVAL for another kind of file.
    /// SIGKILL and SIGSTOP are silently left out of the mask.
    /// </summary>
    private static long Signalfd4(Task t, int fd, ulong maskAddr, ulong sizemask, int flags)
    {
        if (sizemask != 8) return -Errno.EINVAL;
        if (t.Memory.CopyInStruct(maskAddr, out ulong mask) != 0) return -Errno.EFAULT;
        if ((flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) != 0) return -Errno.EINVAL;
        if (fd == -1)
            return t.Fds.InstallNew(new SignalFdFile(t, mask, flags & SFD_NONBLOCK), (flags & SFD_CLOEXEC) != 0);
        var f = t.Fds.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (f is not SignalFdFile sfd) return -Errno.EINVAL;
        sfd.Mask = mask;
        return fd;
    }
}
