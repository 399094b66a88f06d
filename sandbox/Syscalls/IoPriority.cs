using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// ioprio_get(2) and ioprio_set(2) (ionice, databases, build tools): each thread's I/O class and
/// level kept with Linux's validation and permission rules and reported back; the host's I/O
/// scheduler is not told.
/// </summary>
internal static class IoPrioritySyscalls
{
    private const int IOPRIO_WHO_PROCESS = 1, IOPRIO_WHO_PGRP = 2, IOPRIO_WHO_USER = 3;
    private const int IOPRIO_CLASS_NONE = 0, IOPRIO_CLASS_RT = 1, IOPRIO_CLASS_BE = 2, IOPRIO_CLASS_IDLE = 3;
    private const int ClassShift = 13, LevelMask = (1 << ClassShift) - 1, Levels = 8;
    private const int CAP_SYS_ADMIN = 21, CAP_SYS_NICE = 23;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(251, "ioprio_set", IoprioSet, "Class and level recorded per thread and reported; the host's I/O scheduler is not changed.");
        t.Supported(252, "ioprio_get", IoprioGet);
    }

    /// <summary>The threads which/who names (who 0: the caller's own), or null for a bad which.</summary>
    private static List<Task>? Targets(Task t, int which, int who)
    {
        var k = t.Kernel;
        switch (which)
        {
            case IOPRIO_WHO_PROCESS:
                if (who == 0) return [t];
                return k.TaskByTid(t, who) is { Exited: false } task ? [task] : [];
            case IOPRIO_WHO_PGRP:
                {
                    int pgid = who == 0 ? t.ThreadGroup.ProcessGroup.Id : who;
                    return k.Tasks().Where(x => !x.Exited && x.ThreadGroup.ProcessGroup?.Id == pgid).ToList();
                }
            case IOPRIO_WHO_USER:
                {
                    uint uid = who == 0 ? t.Credentials.Uid : (uint)who;
                    return k.Tasks().Where(x => !x.Exited && x.Credentials.Uid == uid).ToList();
                }
            default:
                return null;
        }
    }

    /// <summary>ioprio_set(2): EINVAL for a bad class, level or which; EPERM for the real-time class without privilege or another user's thread; ESRCH.</summary>
    private static long IoprioSet(Task t, in SyscallArguments a)
    {
        int ioprio = (int)a.A2;
        // Linux checks the level bits (0-2) only; hint bits (3-12) pass through.
        int cls = (ioprio >> ClassShift) & 7, level = ioprio & (Levels - 1);
        var c = t.Credentials;
        switch (cls)
        {
            case IOPRIO_CLASS_RT:
                if (!c.HasCapability(CAP_SYS_ADMIN) && !c.HasCapability(CAP_SYS_NICE)) return -Errno.EPERM;
                if (level >= Levels) return -Errno.EINVAL;
                break;
            case IOPRIO_CLASS_BE:
                if (level >= Levels) return -Errno.EINVAL;
                break;
            case IOPRIO_CLASS_IDLE:
                break;
            case IOPRIO_CLASS_NONE:
                if (level != 0) return -Errno.EINVAL;
                break;
            default:
                return -Errno.EINVAL;
        }
        var targets = Targets(t, (int)a.A0, (int)a.A1);
        if (targets == null) return -Errno.EINVAL;
        if (targets.Count == 0) return -Errno.ESRCH;
        bool privileged = c.HasCapability(CAP_SYS_NICE);
        long err = 0;
        foreach (var target in targets)
        {
            var tc = target.Credentials;
            if (!privileged && tc.Uid != c.Euid && tc.Euid != c.Euid) { err = -Errno.EPERM; continue; }
            target.IoPriority = ioprio;
        }
        return err;
    }

    /// <summary>ioprio_get(2): the highest priority among the targets (a thread that never set one has the none class); EINVAL, ESRCH.</summary>
    private static long IoprioGet(Task t, in SyscallArguments a)
    {
        var targets = Targets(t, (int)a.A0, (int)a.A1);
        if (targets == null) return -Errno.EINVAL;
        if (targets.Count == 0) return -Errno.ESRCH;
        if (targets.Count == 1) return targets[0].IoPriority;
        // Linux's ioprio_best: a lower class number wins (none counts as best effort level 4), then a lower level.
        static int Rank(int p)
        {
            int cls = (p >> ClassShift) & 7, level = p & LevelMask;
            if (cls == IOPRIO_CLASS_NONE) { cls = IOPRIO_CLASS_BE; level = 4; }
            return (cls << ClassShift) | level;
        }
        return targets.Select(x => x.IoPriority).MinBy(Rank);
    }
}
