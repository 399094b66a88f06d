using System.Runtime.CompilerServices;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// The signal owner of an open file description (fcntl(2) F_SETOWN/F_GETOWN: a process ID, or a
/// negated process-group ID; F_SETOWN_EX/F_GETOWN_EX: a thread, process or process group) and the
/// signal it sends (F_SETSIG/F_GETSIG: 0 means SIGIO).
/// </summary>
internal static class FileSignals
{
    /// <summary>struct f_owner_ex types.</summary>
    public const int F_OWNER_TID = 0, F_OWNER_PID = 1, F_OWNER_PGRP = 2;

    private static readonly ConditionalWeakTable<FileDescription, StrongBox<(int Type, int Id)>> s_owners = new();
    private static readonly ConditionalWeakTable<FileDescription, StrongBox<int>> s_signals = new();

    /// <summary>
    /// F_SETOWN_EX (and F_SETOWN: a negative value names a process group): EINVAL for an unknown
    /// type, ESRCH when a nonzero ID names nothing; 0 clears the owner.
    /// </summary>
    public static int SetOwner(Kernel.Kernel k, FileDescription f, int type, int id)
    {
        if (type is not (F_OWNER_TID or F_OWNER_PID or F_OWNER_PGRP)) return -Errno.EINVAL;
        if (id != 0)
        {
            bool exists = type switch
            {
                F_OWNER_TID or F_OWNER_PID => k.TaskByTid(id) != null,
                _ => k.Tasks().Any(t => t.ThreadGroup?.ProcessGroup?.Id == id),
            };
            if (!exists) return -Errno.ESRCH;
        }
        s_owners.AddOrUpdate(f, new StrongBox<(int, int)>((id == 0 ? F_OWNER_PID : type, id)));
        return 0;
    }

    /// <summary>F_GETOWN_EX: (type, id); (F_OWNER_PID, 0) when none.</summary>
    public static (int Type, int Id) OwnerEx(FileDescription f) => s_owners.TryGetValue(f, out var o) ? o.Value : (F_OWNER_PID, 0);

    /// <summary>F_GETOWN: the process ID, or the negated process-group ID.</summary>
    public static int Owner(FileDescription f)
    {
        var (type, id) = OwnerEx(f);
        return type == F_OWNER_PGRP ? -id : id;
    }

    /// <summary>The processes a signal for <paramref name="f"/> goes to.</summary>
    public static List<ThreadGroup> Recipients(Kernel.Kernel k, FileDescription f)
    {
        var (type, id) = OwnerEx(f);
        if (id == 0) return [];
        return type switch
        {
            F_OWNER_TID or F_OWNER_PID => k.TaskByTid(id) is { ThreadGroup: { } g } ? [g] : [],
            _ => k.Tasks().Select(t => t.ThreadGroup).Where(g => g?.ProcessGroup?.Id == id).Distinct().ToList(),
        };
    }

    /// <summary>F_SETSIG: 0 (SIGIO) or a valid signal number, else EINVAL.</summary>
    public static int SetSignal(FileDescription f, int signo)
    {
        if (signo < 0 || signo > Kernel.Signal.Max) return -Errno.EINVAL;
        s_signals.AddOrUpdate(f, new StrongBox<int>(signo));
        return 0;
    }

    /// <summary>F_GETSIG (0: SIGIO).</summary>
    public static int Signal(FileDescription f) => s_signals.TryGetValue(f, out var s) ? s.Value : 0;
}
