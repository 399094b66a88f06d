using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>Process life cycle: clone/fork/vfork, execve, exit, wait, IDs, process groups and sessions.</summary>
internal static partial class ProcessSyscalls
{
    private const int PathMax = 4096;
    private const int AT_FDCWD = -100;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(56, "clone", Clone, "Threads (CLONE_THREAD) on the systrap platform; CLONE_VM without CLONE_THREAD copies the address space and waits like vfork; CLONE_PIDFD returns a pidfd through parent_tid; no namespaces.");
        t.Supported(57, "fork", (Task task, in SyscallArguments a) => task.Clone((ulong)Signal.SIGCHLD, 0, 0, 0, 0));
        t.Partial(58, "vfork", (Task task, in SyscallArguments a) => task.Clone(Task.CLONE_VFORK | (ulong)Signal.SIGCHLD, 0, 0, 0, 0),
            "The child gets a copy-on-write copy of the address space; the parent waits for its exec or exit.");
        t.Supported(59, "execve", Execve);
        t.Partial(322, "execveat", ExecveAt, "Only AT_FDCWD or absolute paths; AT_EMPTY_PATH is not supported.");
        t.Supported(60, "exit", (Task task, in SyscallArguments a) =>
        {
            task.ExitThread((int)a.A0);
            return 0;
        });
        t.Supported(231, "exit_group", Exit);
        t.Supported(61, "wait4", Wait4);
        t.Supported(247, "waitid", WaitId);
        t.Supported(39, "getpid", (Task task, in SyscallArguments a) => task.Kernel.IdSeenBy(task, task.Pid));
        t.Supported(110, "getppid", (Task task, in SyscallArguments a) => task.Kernel.IdSeenBy(task, task.ThreadGroup.ParentPid));
        t.Supported(186, "gettid", (Task task, in SyscallArguments a) => task.Kernel.IdSeenBy(task, task.Tid));
        t.Supported(109, "setpgid", SetPgid);
        t.Supported(121, "getpgid", GetPgid);
        t.Supported(111, "getpgrp", (Task task, in SyscallArguments a) => task.Kernel.IdSeenBy(task, task.ProcessGroupId));
        t.Supported(112, "setsid", SetSid);
        t.Supported(124, "getsid", GetSid);
        t.Supported(218, "set_tid_address", (Task task, in SyscallArguments a) => { task.ClearChildTid = a.A0; return task.Kernel.IdSeenBy(task, task.Tid); });
        t.Supported(273, "set_robust_list", (Task task, in SyscallArguments a) =>
        {
            if (a.A1 != 24) return -Errno.EINVAL;
            task.RobustList = a.A0;
            return 0;
        });
        t.Supported(274, "get_robust_list", GetRobustList);
        t.Partial(435, "clone3", Clone3, "As clone; no CLONE_PIDFD, CLONE_INTO_CGROUP or set_tid.");
    }

    private static long Clone(Task t, in SyscallArguments a)
        // x86-64 argument order: flags, stack, parent_tid, child_tid, tls.
        => (a.A0 & Task.CLONE_PIDFD) != 0 ? PidFdSyscalls.CloneWithPidfd(t, a) : t.Clone(a.A0, a.A1, a.A2, a.A3, a.A4);

    /// <summary>clone3(2): struct clone_args (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup).</summary>
    private static long Clone3(Task t, in SyscallArguments a)
    {
        const ulong CLONE_ARGS_SIZE_VER0 = 64;
        ulong size = a.A1;
        if (size < CLONE_ARGS_SIZE_VER0 || size > 4096) return -Errno.EINVAL;
        var buf = new byte[Math.Max(size, 88UL)];
        if (t.Memory.CopyIn(a.A0, buf.AsSpan(0, (int)size)) != 0) return -Errno.EFAULT;
        ulong W(int i) => BitConverter.ToUInt64(buf, i * 8);
        ulong flags = W(0), childTid = W(2), parentTid = W(3), exitSignal = W(4), stack = W(5), stackSize = W(6), tls = W(7);
        for (int i = 11; i < (int)size / 8; i++) if (W(i) != 0) return -Errno.E2BIG;
        if (W(8) != 0 || W(9) != 0 || W(10) != 0) return -Errno.EINVAL;   // set_tid, cgroup
        if ((flags & 0xff) != 0 || exitSignal > 64) return -Errno.EINVAL;
        if ((flags & Task.CLONE_PIDFD) != 0) return -Errno.EINVAL;
        if ((stack == 0) != (stackSize == 0)) return -Errno.EINVAL;
        ulong sp = stack == 0 ? 0 : stack + stackSize;
        return t.Clone(flags | exitSignal, sp, parentTid, childTid, tls);
    }

    private static long Execve(Task t, in SyscallArguments a) => DoExecve(t, a.A0, a.A1, a.A2);

    private static long ExecveAt(Task t, in SyscallArguments a)
    {
        int dirfd = (int)a.A0;
        const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
        int flags = (int)a.A4;
        if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) != 0) return -Errno.EINVAL;
        if ((flags & AT_EMPTY_PATH) != 0) return -Errno.ENOSYS;
        int err = t.Memory.CopyInString(a.A1, PathMax, out string path);
        if (err < 0) return err;
        if (dirfd != AT_FDCWD && !path.StartsWith('/')) return -Errno.ENOSYS;
        return DoExecve(t, a.A1, a.A2, a.A3);
    }

    private static long DoExecve(Task t, ulong pathAddr, ulong argvAddr, ulong envpAddr)
    {
        int err = t.Memory.CopyInString(pathAddr, PathMax, out string path);
        if (err < 0) return err;
        if (path.Length == 0) return -Errno.ENOENT;
        err = t.Memory.CopyInStringArray(argvAddr, 1 << 16, out var argv);
        if (err < 0) return err;
        err = t.Memory.CopyInStringArray(envpAddr, 1 << 16, out var envp);
        if (err < 0) return err;
        return t.Execve(path, argv, envp);
    }

    private static long Exit(Task t, in SyscallArguments a)
    {
        t.ExitGroup(WaitStatus.Exited((int)a.A0));
        return 0;
    }

    private static long Wait4(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0;
        int options = (int)a.A2;
        if ((options & ~(Task.WNOHANG | Task.WUNTRACED | Task.WCONTINUED | Task.__WNOTHREAD | Task.__WALL | Task.__WCLONE)) != 0)
            return -Errno.EINVAL;
        int idtype, id;
        if (pid < -1) { idtype = 2; id = NoneIfZero(t.Kernel.IdGivenBy(t, -pid)); }
        else if (pid == -1) { idtype = 0; id = 0; }
        else if (pid == 0) { idtype = 2; id = t.ProcessGroupId; }
        else { idtype = 1; id = NoneIfZero(t.Kernel.IdGivenBy(t, pid)); }
        int r = t.Wait(idtype, id, options | Task.WEXITED, out var res);
        if (r < 0) return r;
        if (res.Pid == 0) return 0;
        if (a.A1 != 0 && t.Memory.CopyOutStruct(a.A1, res.Status) != 0) return -Errno.EFAULT;
        if (a.A3 != 0)
        {
            var ru = new byte[144];
            if (t.Memory.CopyOut(a.A3, ru) != 0) return -Errno.EFAULT;
        }
        return res.Pid;
    }

    private static long WaitId(Task t, in SyscallArguments a)
    {
        int idtype = (int)a.A0;
        int id = (int)a.A1;
        int options = (int)a.A3;
        const int P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3;
        if ((options & ~(Task.WNOHANG | Task.WEXITED | Task.WSTOPPED | Task.WCONTINUED | Task.WNOWAIT | Task.__WNOTHREAD | Task.__WALL | Task.__WCLONE)) != 0)
            return -Errno.EINVAL;
        if ((options & (Task.WEXITED | Task.WSTOPPED | Task.WCONTINUED)) == 0) return -Errno.EINVAL;
        bool eagainIfNone = false, fromPidFd = false;
        if (idtype == P_PIDFD)
        {
            fromPidFd = true;
            // The process a pidfd names; a non-blocking pidfd makes the wait return EAGAIN.
            int err = PidFdSyscalls.ResolveForWait(t, id, ref options, out id, out eagainIfNone);
            if (err != 0) return err;
            idtype = P_PID;
        }
        if (idtype != P_ALL && idtype != P_PID && idtype != P_PGID) return -Errno.EINVAL;
        if (idtype == P_PGID && id == 0) id = t.ProcessGroupId;
        else if (idtype is P_PID or P_PGID && !fromPidFd) id = NoneIfZero(t.Kernel.IdGivenBy(t, id));
        int r = t.Wait(idtype, id, options, out var res);
        if (r < 0) return r;
        if (res.Pid == 0 && eagainIfNone) return -Errno.EAGAIN;
        if (a.A2 != 0)
        {
            var info = new SignalInfo();
            if (res.Pid != 0)
            {
                info.Signo = Signal.SIGCHLD;
                info.Code = res.Code;
                info.Pid = res.Pid;
                info.Uid = res.Uid;
                info.Status = res.SigStatus;
            }
            if (t.Memory.CopyOut(a.A2, info.Bytes) != 0) return -Errno.EFAULT;
        }
        return 0;
    }

    /// <summary>An ID that matches no process, for a number the caller's PID namespace does not have.</summary>
    private static int NoneIfZero(int id) => id == 0 ? int.MaxValue : id;

    private static long SetPgid(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0, pgid = (int)a.A1;
        if (pid > 0 && (pid = t.Kernel.IdGivenBy(t, pid)) == 0) return -Errno.ESRCH;
        if (pgid > 0 && (pgid = t.Kernel.IdGivenBy(t, pgid)) == 0) return -Errno.EPERM;
        // As Linux: pid 0 is the caller, pgid 0 is pid, and only then is a negative pgid refused.
        if (pid == 0) pid = t.ThreadGroup.Tgid;
        if (pgid == 0) pgid = pid;
        if (pgid < 0) return -Errno.EINVAL;
        var k = t.Kernel;
        lock (k.TaskLock)
        {
            var target = k.ThreadGroupByPid(t, pid);
            if (target == null || target.Zombie) return -Errno.ESRCH;
            if (target != t.ThreadGroup && target.Parent != t.ThreadGroup) return -Errno.ESRCH;
            if (target.Session != t.ThreadGroup.Session) return -Errno.EPERM;
            if (target.Session.Id == target.Tgid) return -Errno.EPERM;
            if (pgid == 0) pgid = target.Tgid;
            if (target.ProcessGroup.Id == pgid) return 0;
            var pg = k.ProcessGroupById(pgid);
            if (pg == null && pgid != target.Tgid) return -Errno.EPERM;
            if (pg != null && pg.Session != target.Session) return -Errno.EPERM;
            k.LeaveProcessGroupLocked(target);
            k.JoinProcessGroupLocked(target, pgid, target.Session);
            return 0;
        }
    }

    private static long GetPgid(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0;
        if (pid == 0) return t.Kernel.IdSeenBy(t, t.ProcessGroupId);
        var g = t.Kernel.ThreadGroupByPid(t, pid);
        return g == null ? -Errno.ESRCH : t.Kernel.IdSeenBy(t, g.ProcessGroup.Id);
    }

    private static long GetSid(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0;
        if (pid == 0) return t.Kernel.IdSeenBy(t, t.SessionId);
        var g = t.Kernel.ThreadGroupByPid(t, pid);
        return g == null ? -Errno.ESRCH : t.Kernel.IdSeenBy(t, g.Session.Id);
    }

    private static long SetSid(Task t, in SyscallArguments a)
    {
        var k = t.Kernel;
        lock (k.TaskLock)
        {
            var tg = t.ThreadGroup;
            if (tg.ProcessGroup.Id == tg.Tgid || k.ProcessGroupById(tg.Tgid) != null) return -Errno.EPERM;
            k.LeaveProcessGroupLocked(tg);
            k.JoinProcessGroupLocked(tg, tg.Tgid, new Session(tg.Tgid));
            return k.IdSeenBy(t, tg.Tgid);
        }
    }

    private static long GetRobustList(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0;
        var target = pid == 0 ? t : t.Kernel.TaskByTid(t, pid);
        if (target == null) return -Errno.ESRCH;
        if (t.Memory.CopyOutStruct(a.A1, target.RobustList) != 0) return -Errno.EFAULT;
        if (t.Memory.CopyOutStruct(a.A2, 24UL) != 0) return -Errno.EFAULT;
        return 0;
    }
}
