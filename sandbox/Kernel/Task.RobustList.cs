using RunscNet.Sentry.Memory;
namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    /// <summary>Entries walked at most (ROBUST_LIST_LIMIT): a corrupt or circular list ends there.</summary>
    private const int RobustListLimit = 2048;

    /// <summary>
    /// The robust futex list at a thread's exit or execve (set_robust_list(2), the kernel's
    /// exit_robust_list): every lock on the list, and the one in list_op_pending, still owned by
    /// this thread gets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and one waiter woken, so the next
    /// pthread_mutex_lock of a robust mutex returns EOWNERDEAD instead of hanging. A pending
    /// entry with a zero word (the thread died between unlock and list removal) wakes a waiter.
    /// struct robust_list_head { robust_list *next; long futex_offset; robust_list *list_op_pending; };
    /// bit 0 of a pointer marks a PI futex (woken by the PI machinery, not here).
    /// </summary>
    internal void ReleaseRobustFutexes()
    {
        ulong head = RobustList;
        RobustList = 0;
        if (head == 0 || Context == null) return;
        if (Memory.CopyInStruct(head, out ulong entry) != 0) return;
        if (Memory.CopyInStruct(head + 8, out long offset) != 0) return;
        if (Memory.CopyInStruct(head + 16, out ulong pending) != 0) return;
        bool pendingPi = (pending & 1) != 0;
        pending &= ~1UL;
        for (int n = 0; (entry & ~1UL) != head && n < RobustListLimit; n++)
        {
            bool pi = (entry & 1) != 0;
            ulong e = entry & ~1UL;
            bool fetched = Memory.CopyInStruct(e, out ulong next) == 0;
            if (e != pending) Kernel.Futexes.HandleOwnerDeath(this, (ulong)((long)e + offset), (uint)Tid, pi, pendingOp: false);
            if (!fetched) return;
            entry = next;
        }
        if (pending != 0) Kernel.Futexes.HandleOwnerDeath(this, (ulong)((long)pending + offset), (uint)Tid, pendingPi, pendingOp: true);
    }
}
