using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Kernel.Seccomp;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// seccomp(2) and prctl(PR_SET_SECCOMP / PR_GET_SECCOMP): filters the Sentry runs on each of the
/// task's system calls (Kernel/Seccomp/). Installing needs no_new_privs or CAP_SYS_ADMIN (EACCES);
/// filters are inherited by children and kept over execve, and cannot be removed. User
/// notification (SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_RET_USER_NOTIF) is not offered:
/// the flag is EINVAL and GET_ACTION_AVAIL says EOPNOTSUPP, as on a kernel without it.
/// </summary>
internal static class SeccompSyscalls
{
    private const int SECCOMP_SET_MODE_STRICT = 0, SECCOMP_SET_MODE_FILTER = 1, SECCOMP_GET_ACTION_AVAIL = 2, SECCOMP_GET_NOTIF_SIZES = 3;
    private const ulong FLAG_TSYNC = 1, FLAG_LOG = 2, FLAG_SPEC_ALLOW = 4, FLAG_TSYNC_ESRCH = 16;
    /// <summary>PR_GET_SECCOMP, PR_SET_SECCOMP.</summary>
    public const int PR_GET_SECCOMP = 21, PR_SET_SECCOMP = 22;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(317, "seccomp", Seccomp, "Strict mode and classic BPF filters with every return action but USER_NOTIF (no listeners).");
    }

    private static long Seccomp(Task t, in SyscallArguments a)
    {
        ulong flags = a.A1;
        switch ((int)a.A0)
        {
            case SECCOMP_SET_MODE_STRICT:
                if (flags != 0 || a.A2 != 0) return -Errno.EINVAL;
                return SetStrict(t);
            case SECCOMP_SET_MODE_FILTER:
                if ((flags & ~(FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_TSYNC_ESRCH)) != 0) return -Errno.EINVAL;
                return SetFilter(t, a.A2, (flags & FLAG_LOG) != 0, (flags & FLAG_TSYNC) != 0);
            case SECCOMP_GET_ACTION_AVAIL:
            {
                if (flags != 0) return -Errno.EINVAL;
                if (t.Memory.CopyInStruct(a.A2, out uint action) != 0) return -Errno.EFAULT;
                return SeccompAction.IsAvailable(action) ? 0 : -Errno.EOPNOTSUPP;
            }
            case SECCOMP_GET_NOTIF_SIZES:
            {
                if (flags != 0) return -Errno.EINVAL;
                Span<byte> sizes = stackalloc byte[6];
                BinaryPrimitives.WriteUInt16LittleEndian(sizes, 80);       // struct seccomp_notif
                BinaryPrimitives.WriteUInt16LittleEndian(sizes[2..], 24);  // struct seccomp_notif_resp
                BinaryPrimitives.WriteUInt16LittleEndian(sizes[4..], SeccompData.Size);
                return t.Memory.CopyOut(a.A2, sizes) != 0 ? -Errno.EFAULT : 0;
            }
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>prctl(PR_SET_SECCOMP, mode, filter): mode 1 strict, mode 2 a filter without flags.</summary>
    public static long Prctl(Task t, in SyscallArguments a)
    {
        if ((int)a.A0 == PR_GET_SECCOMP) return t.Seccomp.Mode;
        return a.A1 switch
        {
            SeccompState.ModeStrict => SetStrict(t),
            SeccompState.ModeFilter => SetFilter(t, a.A2, log: false, tsync: false),
            _ => -Errno.EINVAL,
        };
    }

    private static long SetStrict(Task t)
    {
        if (t.Seccomp.Mode != SeccompState.ModeDisabled) return -Errno.EINVAL;
        t.Seccomp = SeccompState.Strict;
        return 0;
    }

    private static long SetFilter(Task t, ulong progAddress, bool log, bool tsync)
    {
        if (t.Seccomp.Mode == SeccompState.ModeStrict) return -Errno.EINVAL;
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16 bytes).
        Span<byte> fprog = stackalloc byte[16];
        if (t.Memory.CopyIn(progAddress, fprog) != 0) return -Errno.EFAULT;
        int len = BinaryPrimitives.ReadUInt16LittleEndian(fprog);
        ulong insns = BinaryPrimitives.ReadUInt64LittleEndian(fprog[8..]);
        if (len == 0 || len > BpfFilter.MaxInstructions) return -Errno.EINVAL;
        var raw = new byte[len * 8];
        if (t.Memory.CopyIn(insns, raw) != 0) return -Errno.EFAULT;
        if (!t.NoNewPrivileges && !t.Credentials.HasCapability(21)) return -Errno.EACCES;   // CAP_SYS_ADMIN
        var filter = BpfFilter.Parse(raw, log, out int errno);
        if (filter == null) return -errno;
        var next = t.Seccomp.With(filter);
        if (next == null) return -Errno.ENOMEM;
        t.Seccomp = next;
        // TSYNC: every thread of the process takes the new filter set (the threads here share an
        // ancestry: the Sentry gives a thread its creator's filters and nothing else changes them).
        if (tsync)
            lock (t.Kernel.TaskLock)
                foreach (var other in t.ThreadGroup.Tasks) other.Seccomp = next;
        return 0;
    }
}
