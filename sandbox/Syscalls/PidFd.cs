using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Event;

namespace RunscNet.Sentry.Syscalls;

/// <summary>Process file descriptors: pidfd_open, pidfd_send_signal, pidfd_getfd (and waitid's P_PIDFD).</summary>
internal static class PidFdSyscalls
{
    private const int PIDFD_NONBLOCK = OpenFlags.O_NONBLOCK, PIDFD_THREAD = OpenFlags.O_EXCL;
    private const uint PIDFD_SIGNAL_THREAD = 1, PIDFD_SIGNAL_THREAD_GROUP = 2, PIDFD_SIGNAL_PROCESS_GROUP = 4;
    private const int CAP_SYS_PTRACE = 19;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(434, "pidfd_open", PidfdOpen);
        t.Supported(424, "pidfd_send_signal", PidfdSendSignal);
        t.Supported(438, "pidfd_getfd", PidfdGetfd);
    }

    /// <summary>The pidfd at <paramref name="fd"/>; EBADF when the fd is not open or not a pidfd.</summary>
    private static int Lookup(Task t, int fd, out PidFdFile? file)
    {
        file = t.Fds.Get(fd) as PidFdFile;
        return file == null ? -Errno.EBADF : 0;
    }

    /// <summary>
    /// waitid(P_PIDFD, fd): the PID the pidfd names (EINVAL for a negative fd, EBADF when it is
    /// not a pidfd). With a non-blocking pidfd the wait does not block and, when nothing has
    /// changed, returns EAGAIN (unless the caller asked for WNOHANG itself).
    /// </summary>
    internal static int ResolveForWait(Task t, int fd, ref int options, out int pid, out bool eagainIfNone)
    {
        pid = 0;
        eagainIfNone = false;
        if (fd < 0) return -Errno.EINVAL;
        int err = Lookup(t, fd, out var f);
        if (err != 0) return err;
        pid = f!.Target.Tgid;
        if (f.NonBlocking && (options & Task.WNOHANG) == 0)
        {
            options |= Task.WNOHANG;
            eagainIfNone = true;
        }
        return 0;
    }

    /// <summary>
    /// clone(2) with CLONE_PIDFD: a pidfd (close-on-exec) for the child is stored at parent_tid.
    /// EINVAL with CLONE_PARENT_SETTID (the same pointer), CLONE_DETACHED or CLONE_THREAD; EFAULT
    /// before anything is created when the pointer is not writable. The child's fd table does
    /// not get the pidfd, as on Linux.
    /// </summary>
    internal static long CloneWithPidfd(Task t, in SyscallArguments a)
    {
        ulong flags = a.A0;
        if ((flags & (Task.CLONE_PARENT_SETTID | Task.CLONE_DETACHED | Task.CLONE_THREAD)) != 0) return -Errno.EINVAL;
        if (t.Memory.CopyOutStruct(a.A2, -1) != 0) return -Errno.EFAULT;
        long pid = t.Clone(flags & ~Task.CLONE_PIDFD, a.A1, a.A2, a.A3, a.A4);
        if (pid <= 0) return pid;
        var child = t.Kernel.ThreadGroupByPid(t, (int)pid);
        if (child == null) return pid;   // already reaped (the parent ignores SIGCHLD): no pidfd
        int fd = t.Fds.InstallNew(new PidFdFile(child, 0), closeOnExec: true);
        if (fd >= 0) t.Memory.CopyOutStruct(a.A2, fd);
        return pid;
    }

    /// <summary>
    /// pidfd_open(2): flags PIDFD_NONBLOCK and PIDFD_THREAD only (EINVAL); pid must be positive
    /// (EINVAL) and exist (ESRCH; a zombie not yet reaped still exists); without PIDFD_THREAD it
    /// must be a process, not another thread (EINVAL). The fd is always close-on-exec.
    /// </summary>
    private static long PidfdOpen(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0;
        uint flags = (uint)a.A1;
        if ((flags & ~(uint)(PIDFD_NONBLOCK | PIDFD_THREAD)) != 0) return -Errno.EINVAL;
        if (pid <= 0) return -Errno.EINVAL;
        var k = t.Kernel;
        ThreadGroup? g = k.ThreadGroupByPid(t, pid);
        if (g == null)
        {
            var task = k.TaskByTid(t, pid);
            if (task == null) return -Errno.ESRCH;
            if ((flags & PIDFD_THREAD) == 0) return -Errno.EINVAL;
            g = task.ThreadGroup;
        }
        return t.Fds.InstallNew(new PidFdFile(g, (int)flags & PIDFD_NONBLOCK), closeOnExec: true);
    }

    /// <summary>
    /// pidfd_send_signal(2): like kill(2) to the pidfd's process (or its thread group leader with
    /// PIDFD_SIGNAL_THREAD, its process group with PIDFD_SIGNAL_PROCESS_GROUP; at most one of
    /// them, else EINVAL). EBADF unless a pidfd; EINVAL for a bad signal; ESRCH once the
    /// process was reaped; EPERM without permission. With <c>info</c> the siginfo is the caller's:
    /// its si_signo must equal sig (EINVAL) and to another process si_code must be negative and
    /// not SI_TKILL (EPERM).
    /// </summary>
    private static long PidfdSendSignal(Task t, in SyscallArguments a)
    {
        int sig = (int)a.A1;
        uint flags = (uint)a.A3;
        if ((flags & ~(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP)) != 0) return -Errno.EINVAL;
        if (System.Numerics.BitOperations.PopCount(flags) > 1) return -Errno.EINVAL;
        // A pidfd, or an fd open on a /proc/PID directory.
        var file = t.Fds.Get((int)a.A0);
        ThreadGroup? target = file switch
        {
            PidFdFile p => p.Target,
            { Inode: Vfs.Proc.ProcDirectory { Process: { } g } } => g,
            _ => null,
        };
        if (target == null) return -Errno.EBADF;
        if (sig < 0 || sig > Signal.Max) return -Errno.EINVAL;
        SignalInfo info;
        if (a.A2 != 0)
        {
            var raw = new byte[SignalInfo.Size];
            if (t.Memory.CopyIn(a.A2, raw) != 0) return -Errno.EFAULT;
            info = SignalInfo.FromBytes(raw);
            if (info.Signo != sig) return -Errno.EINVAL;
            if (target != t.ThreadGroup && (info.Code >= 0 || info.Code == SignalInfo.SI_TKILL)) return -Errno.EPERM;
        }
        else
        {
            info = SignalInfo.FromUser(sig, SignalInfo.SI_USER, t.Pid, t.Credentials.Uid);
        }
        var k = t.Kernel;
        lock (k.TaskLock)
        {
            if (k.ThreadGroupByPid(target.Tgid) != target) return -Errno.ESRCH;   // reaped
            IEnumerable<ThreadGroup> groups = (flags & PIDFD_SIGNAL_PROCESS_GROUP) != 0
                ? target.ProcessGroup.Members.ToArray()
                : new[] { target };
            bool permitted = false;
            foreach (var g in groups)
            {
                if (!SignalSyscalls.MaySignal(t, g)) continue;
                permitted = true;
                if (sig == 0) continue;
                Task? thread = (flags & PIDFD_SIGNAL_THREAD) != 0 && g.Tasks.Count > 0 ? g.Leader : null;
                k.SendSignalLocked(g, thread, SignalInfo.FromBytes(info.Bytes), SignalSource.User);
            }
            return permitted ? 0 : -Errno.EPERM;
        }
    }

    /// <summary>
    /// pidfd_getfd(2): a duplicate (close-on-exec) of file <c>targetfd</c> of the pidfd's process.
    /// EINVAL for flags; EBADF unless a pidfd or when targetfd is not open there; ESRCH once the
    /// process has exited; EPERM unless the caller may ptrace it (same user and a dumpable target,
    /// or CAP_SYS_PTRACE: ptrace_may_access's PTRACE_MODE_ATTACH_REALCREDS).
    /// </summary>
    private static long PidfdGetfd(Task t, in SyscallArguments a)
    {
        if (a.A2 != 0) return -Errno.EINVAL;
        int err = Lookup(t, (int)a.A0, out var f);
        if (err != 0) return err;
        var target = f!.Target;
        Task? leader;
        lock (t.Kernel.TaskLock) leader = target.Tasks.Count > 0 ? target.Leader : null;
        if (leader == null) return -Errno.ESRCH;
        var c = t.Credentials;
        var tc = leader.Credentials;
        bool sameUser = c.Uid == tc.Uid && c.Uid == tc.Euid && c.Uid == tc.Suid && c.Gid == tc.Gid && c.Gid == tc.Egid && c.Gid == tc.Sgid;
        bool own = target == t.ThreadGroup;
        if (!own && !((sameUser && target.Dumpable == 1) || c.HasCapability(CAP_SYS_PTRACE))) return -Errno.EPERM;
        var file = leader.Fds.GetRef((int)a.A1);
        if (file == null) return -Errno.EBADF;
        try
        {
            return t.Fds.Install(file, closeOnExec: true);
        }
        finally
        {
            file.DecRef();
        }
    }
}
