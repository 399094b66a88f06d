using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>Signal system calls: dispositions, masks, sending, waiting, alternate stacks, sigreturn.</summary>
internal static partial class SignalSyscalls
{
    private const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(13, "rt_sigaction", RtSigaction);
        t.Supported(14, "rt_sigprocmask", RtSigprocmask);
        t.Supported(15, "rt_sigreturn", (Task task, in SyscallArguments a) => task.SigReturn());
        t.Supported(127, "rt_sigpending", RtSigpending);
        t.Supported(128, "rt_sigtimedwait", RtSigtimedwait);
        t.Supported(130, "rt_sigsuspend", RtSigsuspend);
        t.Supported(131, "sigaltstack", Sigaltstack);
        t.Supported(34, "pause", (Task task, in SyscallArguments a) =>
        {
            task.Block(() => false, ReadOnlySpan<WaitQueue>.Empty);
            return -Errno.ERESTARTNOHAND;
        });
        t.Supported(62, "kill", Kill);
        t.Supported(200, "tkill", (Task task, in SyscallArguments a) => TgKill(task, -1, (int)a.A0, (int)a.A1));
        t.Supported(234, "tgkill", (Task task, in SyscallArguments a) => TgKill(task, (int)a.A0, (int)a.A1, (int)a.A2));
        t.Supported(129, "rt_sigqueueinfo", RtSigqueueinfo);
        t.Supported(297, "rt_tgsigqueueinfo", RtTgsigqueueinfo);
        t.Supported(219, "restart_syscall", RestartSyscall);
    }

    private static long RtSigaction(Task t, in SyscallArguments a)
    {
        int sig = (int)a.A0;
        if (a.A3 != 8) return -Errno.EINVAL;
        if (!Signal.IsValid(sig)) return -Errno.EINVAL;
        SigAction act = default;
        if (a.A1 != 0)
        {
            if (sig == Signal.SIGKILL || sig == Signal.SIGSTOP) return -Errno.EINVAL;
            if (t.Memory.CopyInStruct(a.A1, out act) != 0) return -Errno.EFAULT;
        }
        SigAction old;
        if (a.A1 != 0) old = t.SetAction(sig, act);
        else lock (t.Kernel.TaskLock) old = t.ThreadGroup.Handlers.Actions[sig];
        if (a.A2 != 0 && t.Memory.CopyOutStruct(a.A2, old) != 0) return -Errno.EFAULT;
        return 0;
    }

    private static long RtSigprocmask(Task t, in SyscallArguments a)
    {
        if (a.A3 != 8) return -Errno.EINVAL;
        ulong old = t.SignalMask;
        if (a.A1 != 0)
        {
            if (t.Memory.CopyInStruct(a.A1, out ulong set) != 0) return -Errno.EFAULT;
            switch ((int)a.A0)
            {
                case SIG_BLOCK: t.SetSignalMask(old | set); break;
                case SIG_UNBLOCK: t.SetSignalMask(old & ~set); break;
                case SIG_SETMASK: t.SetSignalMask(set); break;
                default: return -Errno.EINVAL;
            }
        }
        if (a.A2 != 0 && t.Memory.CopyOutStruct(a.A2, old) != 0) return -Errno.EFAULT;
        return 0;
    }

    private static long RtSigpending(Task t, in SyscallArguments a)
    {
        if (a.A1 > 8) return -Errno.EINVAL;
        ulong set = t.PendingSet() & t.SignalMask;
        return t.Memory.CopyOutStruct(a.A0, set);
    }

    private static long RtSigsuspend(Task t, in SyscallArguments a)
    {
        if (a.A1 != 8) return -Errno.EINVAL;
        if (t.Memory.CopyInStruct(a.A0, out ulong mask) != 0) return -Errno.EFAULT;
        t.SavedSignalMask = t.SignalMask;
        t.SetSignalMask(mask);
        t.Block(() => false, ReadOnlySpan<WaitQueue>.Empty);
        return -Errno.ERESTARTNOHAND;
    }

    private static long RtSigtimedwait(Task t, in SyscallArguments a)
    {
        if (a.A3 != 8) return -Errno.EINVAL;
        if (t.Memory.CopyInStruct(a.A0, out ulong set) != 0) return -Errno.EFAULT;
        set &= ~Signal.Unblockable;
        TimeSpan? timeout = null;
        if (a.A2 != 0)
        {
            int err = TimeSyscalls.ReadTimespec(t, a.A2, out long sec, out long nsec);
            if (err < 0) return err;
            timeout = TimeSpan.FromTicks(sec * TimeSpan.TicksPerSecond + nsec / 100);
        }
        SignalInfo? info = null;
        bool Take()
        {
            lock (t.Kernel.TaskLock) info = t.DequeueLocked(set);
            return info != null;
        }
        t.SigWaitSet = set;
        BlockResult r;
        try
        {
            r = t.Block(Take, ReadOnlySpan<WaitQueue>.Empty, timeout);
        }
        finally
        {
            t.SigWaitSet = 0;
        }
        if (info == null) return r == BlockResult.TimedOut ? -Errno.EAGAIN : -Errno.EINTR;
        if (a.A1 != 0 && t.Memory.CopyOut(a.A1, info.Bytes) != 0) return -Errno.EFAULT;
        return info.Signo;
    }

    private static long Sigaltstack(Task t, in SyscallArguments a)
    {
        const int SS_AUTODISARM = 1 << 31;
        var cur = t.AltStack;
        ulong sp = t.Context!.Regs.Rsp;
        bool enabled = (cur.Flags & Task.SS_DISABLE) == 0 && cur.Size != 0;
        bool onStack = enabled && sp > cur.Sp && sp <= cur.Sp + cur.Size;
        if (a.A1 != 0)
        {
            var o = new byte[24];
            BinaryPrimitives.WriteUInt64LittleEndian(o, cur.Sp);
            BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(8), onStack ? Task.SS_ONSTACK : (enabled ? 0 : Task.SS_DISABLE));
            BinaryPrimitives.WriteUInt64LittleEndian(o.AsSpan(16), cur.Size);
            if (t.Memory.CopyOut(a.A1, o) != 0) return -Errno.EFAULT;
        }
        if (a.A0 != 0)
        {
            var n = new byte[24];
            if (t.Memory.CopyIn(a.A0, n) != 0) return -Errno.EFAULT;
            if (onStack) return -Errno.EPERM;
            ulong nsp = BinaryPrimitives.ReadUInt64LittleEndian(n);
            int flags = BinaryPrimitives.ReadInt32LittleEndian(n.AsSpan(8));
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(n.AsSpan(16));
            if ((flags & ~(Task.SS_DISABLE | SS_AUTODISARM)) != 0) return -Errno.EINVAL;
            if ((flags & Task.SS_DISABLE) != 0) t.AltStack = new SignalFrame.AltStack(0, Task.SS_DISABLE, 0);
            else
            {
                if (size < 2048) return -Errno.ENOMEM;
                t.AltStack = new SignalFrame.AltStack(nsp, 0, size);
            }
        }
        return 0;
    }

    internal static bool MaySignal(Task sender, ThreadGroup target)
    {
        var c = sender.Credentials;
        if (c.HasCapability(5)) return true;   // CAP_KILL
        var tc = target.Leader.Credentials;
        return c.Euid == tc.Uid || c.Euid == tc.Suid || c.Uid == tc.Uid || c.Uid == tc.Suid;
    }

    private static long Kill(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0;
        int sig = (int)a.A1;
        if (sig < 0 || sig > Signal.Max) return -Errno.EINVAL;
        var k = t.Kernel;
        var info = SignalInfo.FromUser(sig, SignalInfo.SI_USER, t.Pid, t.Credentials.Uid);
        lock (k.TaskLock)
        {
            IEnumerable<ThreadGroup> targets;
            if (pid > 0)
            {
                var g = k.ThreadGroupByPid(t, pid);
                if (g == null) return -Errno.ESRCH;
                targets = new[] { g };
            }
            else if (pid == -1)
            {
                targets = k.ThreadGroups().Where(g => !g.IsInit && g != t.ThreadGroup && k.CanSee(t, g) && k.IdSeenBy(t, g.Tgid) != 1);
            }
            else
            {
                int pgid = pid == 0 ? t.ProcessGroupId : k.IdGivenBy(t, -pid);
                var pg = k.ProcessGroupById(pgid);
                if (pg == null) return -Errno.ESRCH;
                targets = pg.Members.ToArray();
            }
            bool any = false, permitted = false;
            foreach (var g in targets)
            {
                if (g.Zombie && pid <= 0) continue;
                any = true;
                if (!MaySignal(t, g)) continue;
                permitted = true;
                if (sig != 0) k.SendSignalLocked(g, null, SignalInfo.FromBytes(info.Bytes), SignalSource.User);
            }
            if (!any) return -Errno.ESRCH;
            return permitted ? 0 : -Errno.EPERM;
        }
    }

    private static long TgKill(Task t, int tgid, int tid, int sig)
    {
        if (tid <= 0 || (tgid != -1 && tgid <= 0)) return -Errno.EINVAL;
        if (sig < 0 || sig > Signal.Max) return -Errno.EINVAL;
        var k = t.Kernel;
        lock (k.TaskLock)
        {
            var target = k.TaskByTid(t, tid);
            if (target == null || (tgid != -1 && k.IdSeenBy(t, target.Pid) != tgid)) return -Errno.ESRCH;
            if (!MaySignal(t, target.ThreadGroup)) return -Errno.EPERM;
            if (sig == 0) return 0;
            k.SendSignalLocked(target.ThreadGroup, target, SignalInfo.FromUser(sig, SignalInfo.SI_TKILL, t.Pid, t.Credentials.Uid), SignalSource.User);
            return 0;
        }
    }

    private static long RtSigqueueinfo(Task t, in SyscallArguments a)
    {
        int pid = (int)a.A0, sig = (int)a.A1;
        if (!Signal.IsValid(sig)) return -Errno.EINVAL;
        var raw = new byte[SignalInfo.Size];
        if (t.Memory.CopyIn(a.A2, raw) != 0) return -Errno.EFAULT;
        var info = SignalInfo.FromBytes(raw);
        info.Signo = sig;
        if ((info.Code >= 0 || info.Code == SignalInfo.SI_TKILL) && pid != t.Kernel.IdSeenBy(t, t.Pid)) return -Errno.EPERM;
        var g = t.Kernel.ThreadGroupByPid(t, pid);
        if (g == null) return -Errno.ESRCH;
        if (!MaySignal(t, g)) return -Errno.EPERM;
        t.Kernel.SendSignalToGroup(g, info, SignalSource.User);
        return 0;
    }

    private static long RtTgsigqueueinfo(Task t, in SyscallArguments a)
    {
        int tgid = (int)a.A0, tid = (int)a.A1, sig = (int)a.A2;
        if (!Signal.IsValid(sig) || tgid <= 0 || tid <= 0) return -Errno.EINVAL;
        var raw = new byte[SignalInfo.Size];
        if (t.Memory.CopyIn(a.A3, raw) != 0) return -Errno.EFAULT;
        var info = SignalInfo.FromBytes(raw);
        info.Signo = sig;
        if ((info.Code >= 0 || info.Code == SignalInfo.SI_TKILL) && tgid != t.Kernel.IdSeenBy(t, t.Pid)) return -Errno.EPERM;
        var target = t.Kernel.TaskByTid(t, tid);
        if (target == null || t.Kernel.IdSeenBy(t, target.Pid) != tgid) return -Errno.ESRCH;
        t.Kernel.SendSignalToTask(target, info, SignalSource.User);
        return 0;
    }

    private static long RestartSyscall(Task t, in SyscallArguments a)
    {
        var block = t.RestartBlock;
        t.RestartBlock = null;
        return block == null ? -Errno.EINTR : block(t);
    }
}
