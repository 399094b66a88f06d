using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// Scheduling attributes (getpriority(2), setpriority(2), sched_setscheduler(2),
/// sched_setparam(2) and their getters): the Sentry keeps each thread's nice value, policy and
/// real-time priority with Linux's validation and permission rules and reports them back; the
/// host scheduler is not told (the sandbox runs under its own cgroup limits).
/// </summary>
internal static class SchedulingSyscalls
{
    private const int PRIO_PROCESS = 0, PRIO_PGRP = 1, PRIO_USER = 2;
    private const int SCHED_OTHER = 0, SCHED_FIFO = 1, SCHED_RR = 2, SCHED_BATCH = 3, SCHED_IDLE = 5, SCHED_DEADLINE = 6;
    private const int SCHED_RESET_ON_FORK = 0x40000000;
    private const int CAP_SYS_NICE = 23;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(140, "getpriority", GetPriority);
        t.Supported(141, "setpriority", SetPriority);
        t.Partial(144, "sched_setscheduler", SchedSetScheduler, "Policy and priority recorded and reported; the host scheduler is not changed.");
        t.Partial(142, "sched_setparam", SchedSetParam, "Priority recorded and reported; the host scheduler is not changed.");
        t.Supported(145, "sched_getscheduler", SchedGetScheduler);
        t.Supported(143, "sched_getparam", SchedGetParam);
        t.Partial(203, "sched_setaffinity", SchedSetAffinity, "Mask recorded per thread and reported; the host scheduler is not changed.");
        t.Supported(204, "sched_getaffinity", SchedGetAffinity);
        t.Supported(146, "sched_get_priority_max", (Task task, in SyscallArguments a) => PriorityRange((int)a.A0, 99));
        t.Supported(147, "sched_get_priority_min", (Task task, in SyscallArguments a) => PriorityRange((int)a.A0, 1));
    }

    /// <summary>sched_get_priority_max(2)/min: the real-time policies' bound, 0 for the others, EINVAL for an unknown policy.</summary>
    private static long PriorityRange(int policy, int realtimeBound) => policy switch
    {
        SCHED_FIFO or SCHED_RR => realtimeBound,
        SCHED_OTHER or SCHED_BATCH or SCHED_IDLE or SCHED_DEADLINE => 0,
        _ => -Errno.EINVAL,
    };

    /// <summary>The thread <paramref name="pid"/> names for the affinity calls (0: the caller); null with ESRCH (negative pids too, as Linux's lookup).</summary>
    private static Task? AffinityTarget(Task t, int pid)
    {
        if (pid == 0) return t;
        return pid > 0 && t.Kernel.TaskByTid(t, pid) is { Exited: false } task ? task : null;
    }

    /// <summary>
    /// sched_getaffinity(2): EINVAL when the buffer is smaller than the kernel's mask or not a
    /// multiple of a long, ESRCH, EFAULT; copies the kernel's mask and returns its size in bytes.
    /// </summary>
    private static long SchedGetAffinity(Task t, in SyscallArguments a)
    {
        ulong len = a.A1;
        if (len * 8 < (ulong)CpuSet.Count || (len & 7) != 0) return -Errno.EINVAL;
        var target = AffinityTarget(t, (int)a.A0);
        if (target == null) return -Errno.ESRCH;
        var mask = target.CpuAffinity;
        var b = new byte[CpuSet.MaskBytes];
        for (int i = 0; i < mask.Length; i++) BitConverter.TryWriteBytes(b.AsSpan(i * 8), mask[i]);
        return t.Memory.CopyOut(a.A2, b) != 0 ? -Errno.EFAULT : b.Length;
    }

    /// <summary>
    /// sched_setaffinity(2): a shorter mask is zero-extended, a longer one truncated; CPUs the
    /// sandbox does not have are dropped and an empty result is EINVAL; ESRCH, EFAULT, EPERM for
    /// another user's thread without CAP_SYS_NICE.
    /// </summary>
    private static long SchedSetAffinity(Task t, in SyscallArguments a)
    {
        var target = AffinityTarget(t, (int)a.A0);
        if (target == null) return -Errno.ESRCH;
        int len = (int)Math.Min(a.A1, (ulong)CpuSet.MaskBytes);
        var b = new byte[CpuSet.MaskBytes];
        if (t.Memory.CopyIn(a.A2, b.AsSpan(0, len)) != 0) return -Errno.EFAULT;
        var c = t.Credentials;
        var tc = target.Credentials;
        if (!c.HasCapability(CAP_SYS_NICE) && c.Euid != tc.Uid && c.Euid != tc.Euid) return -Errno.EPERM;
        var all = CpuSet.All();
        var mask = new ulong[all.Length];
        bool any = false;
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = BitConverter.ToUInt64(b, i * 8) & all[i];
            any |= mask[i] != 0;
        }
        if (!any) return -Errno.EINVAL;
        target.CpuAffinity = mask;
        return 0;
    }

    /// <summary>The threads <paramref name="which"/>/<paramref name="who"/> names (who 0: the caller's own), or null for a bad which.</summary>
    private static List<Task>? Targets(Task t, int which, int who)
    {
        var k = t.Kernel;
        switch (which)
        {
            case PRIO_PROCESS:
                if (who == 0) return [t];
                return k.TaskByTid(t, who) is { Exited: false } task ? [task] : [];
            case PRIO_PGRP:
            {
                int pgid = who == 0 ? t.ThreadGroup.ProcessGroup.Id : who;
                return k.Tasks().Where(x => !x.Exited && x.ThreadGroup.ProcessGroup?.Id == pgid).ToList();
            }
            case PRIO_USER:
            {
                uint uid = who == 0 ? t.Credentials.Uid : (uint)who;
                return k.Tasks().Where(x => !x.Exited && x.Credentials.Uid == uid).ToList();
            }
            default:
                return null;
        }
    }

    /// <summary>getpriority(2): 20 - nice of the highest-priority target (the raw call's form; libc subtracts); ESRCH, EINVAL.</summary>
    private static long GetPriority(Task t, in SyscallArguments a)
    {
        var targets = Targets(t, (int)a.A0, (int)a.A1);
        if (targets == null) return -Errno.EINVAL;
        if (targets.Count == 0) return -Errno.ESRCH;
        return 20 - targets.Min(x => x.Nice);
    }

    /// <summary>
    /// setpriority(2): nice clamped to [-20, 19]; EPERM for another user's thread without
    /// CAP_SYS_NICE, EACCES to lower the nice value without CAP_SYS_NICE beyond RLIMIT_NICE.
    /// </summary>
    private static long SetPriority(Task t, in SyscallArguments a)
    {
        var targets = Targets(t, (int)a.A0, (int)a.A1);
        if (targets == null) return -Errno.EINVAL;
        if (targets.Count == 0) return -Errno.ESRCH;
        int nice = Math.Clamp((int)a.A2, -20, 19);
        var c = t.Credentials;
        bool privileged = c.HasCapability(CAP_SYS_NICE);
        long err = 0;
        foreach (var target in targets)
        {
            var tc = target.Credentials;
            if (!privileged && tc.Uid != c.Euid && tc.Euid != c.Euid) { err = -Errno.EPERM; continue; }
            if (nice < target.Nice && !privileged && 20 - nice > (long)t.ThreadGroup.Limits.Get(Rlimits.NICE).Cur)
            {
                err = -Errno.EACCES;
                continue;
            }
            target.Nice = nice;
        }
        return err;
    }

    private static Task? Target(Task t, int pid, out long err)
    {
        err = 0;
        if (pid < 0) { err = -Errno.EINVAL; return null; }
        if (pid == 0) return t;
        var task = t.Kernel.TaskByTid(t, pid);
        if (task == null || task.Exited) err = -Errno.ESRCH;
        return err == 0 ? task : null;
    }

    /// <summary>Validates policy/priority as Linux's __sched_setscheduler does; 0 or -errno.</summary>
    private static long Check(Task t, Task target, int policy, int priority)
    {
        bool realtime = policy is SCHED_FIFO or SCHED_RR;
        if (policy is not (SCHED_OTHER or SCHED_FIFO or SCHED_RR or SCHED_BATCH or SCHED_IDLE)) return -Errno.EINVAL;
        if (realtime ? priority is < 1 or > 99 : priority != 0) return -Errno.EINVAL;
        var c = t.Credentials;
        if (c.HasCapability(CAP_SYS_NICE)) return 0;
        var tc = target.Credentials;
        if (tc.Uid != c.Euid && tc.Euid != c.Euid) return -Errno.EPERM;
        if (realtime && (ulong)priority > t.ThreadGroup.Limits.Get(Rlimits.RTPRIO).Cur) return -Errno.EPERM;
        return 0;
    }

    /// <summary>sched_setscheduler(2): EINVAL for an unknown policy or a priority out of its range, EPERM without privilege, ESRCH, EFAULT.</summary>
    private static long SchedSetScheduler(Task t, in SyscallArguments a)
    {
        int policy = (int)a.A1;
        if (a.A2 == 0) return -Errno.EINVAL;
        var target = Target(t, (int)a.A0, out long err);
        if (target == null) return err;
        if (t.Memory.CopyInStruct(a.A2, out int priority) != 0) return -Errno.EFAULT;
        policy &= ~SCHED_RESET_ON_FORK;
        err = Check(t, target, policy, priority);
        if (err != 0) return err;
        target.SchedPolicy = policy;
        target.SchedPriority = priority;
        return 0;
    }

    /// <summary>sched_setparam(2): the priority for the thread's current policy.</summary>
    private static long SchedSetParam(Task t, in SyscallArguments a)
    {
        if (a.A1 == 0) return -Errno.EINVAL;
        var target = Target(t, (int)a.A0, out long err);
        if (target == null) return err;
        if (t.Memory.CopyInStruct(a.A1, out int priority) != 0) return -Errno.EFAULT;
        err = Check(t, target, target.SchedPolicy, priority);
        if (err != 0) return err;
        target.SchedPriority = priority;
        return 0;
    }

    private static long SchedGetScheduler(Task t, in SyscallArguments a)
    {
        var target = Target(t, (int)a.A0, out long err);
        return target == null ? err : target.SchedPolicy;
    }

    private static long SchedGetParam(Task t, in SyscallArguments a)
    {
        if (a.A1 == 0) return -Errno.EINVAL;
        var target = Target(t, (int)a.A0, out long err);
        if (target == null) return err;
        return t.Memory.CopyOutStruct(a.A1, target.SchedPriority) != 0 ? -Errno.EFAULT : 0;
    }
}
