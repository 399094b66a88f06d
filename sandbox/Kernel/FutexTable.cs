using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// Futex wait queues. As on Linux, the key depends on the memory, not on FUTEX_PRIVATE_FLAG: a
/// futex in a private mapping is keyed by (address space, address), so every thread of a process
/// meets the others' waits whether or not they pass the flag (glibc's pthread_join waits without
/// it on the CLONE_CHILD_CLEARTID word); one in a shared mapping without the flag is keyed by the
/// memory itself (the file's host identity or the MAP_SHARED|MAP_ANONYMOUS region, and the offset
/// in it), so processes that mapped the same file at different addresses (sem_open, shared
/// pthread mutexes in a file) meet. Waiters are woken in FIFO order.
/// </summary>
internal sealed class FutexTable
{
    private sealed class FutexWaiter
    {
        public required Task Task;
        public required uint Bitset;
        public (object, ulong) Key;
        public volatile bool Woken;
    }

    private readonly object _lock = new();
    private readonly Dictionary<(object, ulong), List<FutexWaiter>> _queues = new();

    private static (object, ulong) KeyOf(Task t, ulong addr, bool priv)
    {
        var mm = t.AddressSpace;
        if (mm == null) return (t.Kernel, addr);
        if (priv) return (mm, addr);
        if (mm.SharedKeyOf(addr) is { } shared) return shared;
        if (mm.IsSharedMapping(addr)) return (t.Kernel, addr);
        return (mm, addr);
    }

    /// <summary>FUTEX_WAIT(_BITSET): sleeps while *addr == val. 0, -EAGAIN, -ETIMEDOUT or -ERESTARTSYS.</summary>
    public int Wait(Task t, ulong addr, uint val, uint bitset, bool priv, TimeSpan? timeout)
    {
        if ((addr & 3) != 0) return -Errno.EINVAL;
        if (bitset == 0) return -Errno.EINVAL;
        var key = KeyOf(t, addr, priv);
        var w = new FutexWaiter { Task = t, Bitset = bitset, Key = key };
        lock (_lock)
        {
            if (t.Memory.CopyInStruct(addr, out uint cur) != 0) return -Errno.EFAULT;
            if (cur != val) return -Errno.EAGAIN;
            if (!_queues.TryGetValue(key, out var q)) _queues[key] = q = new List<FutexWaiter>();
            q.Add(w);
        }
        var r = t.Block(() => w.Woken, ReadOnlySpan<WaitQueue>.Empty, timeout);
        if (w.Woken) return 0;
        lock (_lock)
        {
            if (_queues.TryGetValue(w.Key, out var q))
            {
                q.Remove(w);
                if (q.Count == 0) _queues.Remove(w.Key);
            }
        }
        if (w.Woken) return 0;
        return r == BlockResult.TimedOut ? -Errno.ETIMEDOUT : -Errno.ERESTARTSYS;
    }

    /// <summary>FUTEX_WAKE(_BITSET): wakes up to <paramref name="count"/> waiters; returns how many.</summary>
    public int Wake(Task t, ulong addr, int count, uint bitset, bool priv)
    {
        if (bitset == 0) return -Errno.EINVAL;
        var key = KeyOf(t, addr, priv);
        int n = 0;
        lock (_lock)
        {
            if (!_queues.TryGetValue(key, out var q)) return 0;
            for (int i = 0; i < q.Count && n < count;)
            {
                var w = q[i];
                if ((w.Bitset & bitset) == 0) { i++; continue; }
                q.RemoveAt(i);
                w.Woken = true;
                w.Task.Waiter.Wake();
                n++;
            }
            if (q.Count == 0) _queues.Remove(key);
        }
        return n;
    }

    /// <summary>
    /// FUTEX_WAKE_OP: atomically applies <paramref name="encodedOp"/> to the word at
    /// <paramref name="addr2"/> (the Sentry's futex lock stands in for the atomicity, as every
    /// futex operation takes it), wakes up to <paramref name="count"/> waiters on
    /// <paramref name="addr"/> and, if the comparison on the old value holds, up to
    /// <paramref name="count2"/> on <paramref name="addr2"/>. Returns the number woken or -errno.
    /// </summary>
    public int WakeOp(Task t, ulong addr, ulong addr2, int count, int count2, uint encodedOp, bool priv)
    {
        int op = (int)((encodedOp >> 28) & 7), cmp = (int)((encodedOp >> 24) & 15);
        uint oparg = (encodedOp >> 12) & 0xfff, cmparg = encodedOp & 0xfff;
        if ((encodedOp & (8u << 28)) != 0) oparg = oparg >= 32 ? 0 : 1u << (int)oparg;   // FUTEX_OP_OPARG_SHIFT
        if ((addr2 & 3) != 0) return -Errno.EINVAL;
        bool cond;
        lock (_lock)
        {
            if (t.Memory.CopyInStruct(addr2, out uint old) != 0) return -Errno.EFAULT;
            uint now = op switch
            {
                0 => oparg,            // SET
                1 => old + oparg,      // ADD
                2 => old | oparg,      // OR
                3 => old & ~oparg,     // ANDN
                4 => old ^ oparg,      // XOR
                _ => old,
            };
            if (op > 4) return -Errno.ENOSYS;
            if (t.Memory.CopyOutStruct(addr2, now) != 0) return -Errno.EFAULT;
            int o = (int)old, c = (int)cmparg;
            cond = cmp switch
            {
                0 => o == c, 1 => o != c, 2 => o < c, 3 => o <= c, 4 => o > c, 5 => o >= c,
                _ => false,
            };
            if (cmp > 5) return -Errno.ENOSYS;
        }
        int n = Wake(t, addr, count, uint.MaxValue, priv);
        if (cond) n += Wake(t, addr2, count2, uint.MaxValue, priv);
        return n;
    }

    /// <summary>
    /// One lock of a dying thread's robust list (the kernel's handle_futex_death): if the word at
    /// <paramref name="addr"/> names <paramref name="tid"/> as owner it becomes FUTEX_OWNER_DIED
    /// (FUTEX_WAITERS kept) and, for a non-PI futex with waiters, one waiter is woken; a pending
    /// non-PI entry whose word is 0 wakes one waiter. The Sentry's futex lock stands in for the
    /// kernel's atomic compare-and-exchange, as for FUTEX_WAKE_OP.
    /// </summary>
    public void HandleOwnerDeath(Task t, ulong addr, uint tid, bool pi, bool pendingOp)
    {
        if ((addr & 3) != 0) return;
        bool wake;
        lock (_lock)
        {
            if (t.Memory.CopyInStruct(addr, out uint word) != 0) return;
            if (pendingOp && !pi && word == 0)
            {
                wake = true;
            }
            else
            {
                if ((word & 0x3fffffff) != tid) return;
                uint died = (word & 0x80000000) | 0x40000000;
                if (t.Memory.CopyOutStruct(addr, died) != 0) return;
                wake = !pi && (word & 0x80000000) != 0;
            }
        }
        if (wake) Wake(t, addr, 1, uint.MaxValue, priv: false);
    }

    /// <summary>FUTEX_(CMP_)REQUEUE: wakes <paramref name="wake"/> waiters and moves up to <paramref name="requeue"/> to addr2.</summary>
    public int Requeue(Task t, ulong addr, ulong addr2, int wake, int requeue, uint? expected, bool priv)
    {
        var key = KeyOf(t, addr, priv);
        var key2 = KeyOf(t, addr2, priv);
        lock (_lock)
        {
            if (expected is uint e)
            {
                if (t.Memory.CopyInStruct(addr, out uint cur) != 0) return -Errno.EFAULT;
                if (cur != e) return -Errno.EAGAIN;
            }
            if (!_queues.TryGetValue(key, out var q)) return 0;
            int n = 0, moved = 0;
            while (q.Count > 0 && n < wake)
            {
                var w = q[0];
                q.RemoveAt(0);
                w.Woken = true;
                w.Task.Waiter.Wake();
                n++;
            }
            while (q.Count > 0 && moved < requeue)
            {
                var w = q[0];
                q.RemoveAt(0);
                w.Key = key2;
                if (!_queues.TryGetValue(key2, out var q2)) _queues[key2] = q2 = new List<FutexWaiter>();
                q2.Add(w);
                moved++;
            }
            if (q.Count == 0) _queues.Remove(key);
            return n + moved;
        }
    }
}
