namespace RunscNet.Sentry.Kernel.Ipc;

/// <summary>One operation of semop(2) (struct sembuf).</summary>
internal readonly record struct SemaphoreOperation(ushort Number, short Operation, short Flags);

/// <summary>
/// A System V semaphore set (semget(2)): values, the last operating PID of each semaphore and
/// the SEM_UNDO adjustments of each process. Guarded by <see cref="IpcNamespace.Lock"/>.
/// </summary>
internal sealed class SemaphoreSet : IIpcObject
{
    /// <summary>SEMVMX: the largest semaphore value.</summary>
    public const int MaxValue = 32767;

    /// <summary>SEMMSL: semaphores per set.</summary>
    public const int MaxSemaphores = 32000;

    /// <summary>IPC_NOWAIT, SEM_UNDO.</summary>
    public const short IPC_NOWAIT = 0x800, SEM_UNDO = 0x1000;

    private readonly Dictionary<ThreadGroup, int[]> _undo = new();

    /// <summary>A set of <paramref name="count"/> zero-valued semaphores.</summary>
    public SemaphoreSet(int id, IpcPermissions perm, int count)
    {
        Id = id;
        Perm = perm;
        Values = new int[count];
        Pids = new int[count];
        WaitingForIncrease = new int[count];
        WaitingForZero = new int[count];
        ChangeTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <inheritdoc/>
    public int Id { get; }

    /// <inheritdoc/>
    public IpcPermissions Perm { get; }

    /// <summary>semval of each semaphore.</summary>
    public int[] Values { get; }

    /// <summary>sempid: the PID of the last operation on each semaphore.</summary>
    public int[] Pids { get; }

    /// <summary>semncnt: tasks waiting for each value to increase.</summary>
    public int[] WaitingForIncrease { get; }

    /// <summary>semzcnt: tasks waiting for each value to become zero.</summary>
    public int[] WaitingForZero { get; }

    /// <summary>sem_otime (seconds; 0 until the first semop).</summary>
    public long OperationTime { get; set; }

    /// <summary>sem_ctime.</summary>
    public long ChangeTime { get; set; }

    /// <summary>True once IPC_RMID removed the set (waiters fail with EIDRM).</summary>
    public bool Removed { get; set; }

    /// <summary>Notified whenever values change or the set is removed.</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>
    /// Tries all of <paramref name="ops"/> atomically for process <paramref name="tg"/>:
    /// 0 when applied, 1 when the caller must wait (index of the blocking op in
    /// <paramref name="blockedAt"/>), or -ERANGE. Nothing changes unless all succeed.
    /// </summary>
    public int TryApply(ReadOnlySpan<SemaphoreOperation> ops, ThreadGroup tg, out int blockedAt)
    {
        blockedAt = -1;
        var values = (int[])Values.Clone();
        _undo.TryGetValue(tg, out var undo);
        int[]? newUndo = undo != null ? (int[])undo.Clone() : null;
        for (int i = 0; i < ops.Length; i++)
        {
            var op = ops[i];
            int v = values[op.Number];
            if (op.Operation == 0)
            {
                if (v != 0) { blockedAt = i; return 1; }
                continue;
            }
            int nv = v + op.Operation;
            if (nv < 0) { blockedAt = i; return 1; }
            if (nv > MaxValue) return -Errno.ERANGE;
            if ((op.Flags & SEM_UNDO) != 0)
            {
                newUndo ??= new int[Values.Length];
                int adj = newUndo[op.Number] - op.Operation;
                if (adj < -MaxValue - 1 || adj > MaxValue) return -Errno.ERANGE;
                newUndo[op.Number] = adj;
            }
            values[op.Number] = nv;
        }
        values.CopyTo(Values, 0);
        foreach (var op in ops) Pids[op.Number] = tg.Tgid;
        if (newUndo != null) _undo[tg] = newUndo;
        OperationTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Queue.Notify();
        return 0;
    }

    /// <summary>SETVAL/SETALL: the undo adjustments of the changed semaphores are cleared in every process.</summary>
    public void ClearUndo(int? number)
    {
        foreach (var adj in _undo.Values)
        {
            if (number is int n) adj[n] = 0;
            else Array.Clear(adj);
        }
    }

    /// <summary>Process exit: applies its SEM_UNDO adjustments (clamped to 0..SEMVMX).</summary>
    public void ApplyUndo(ThreadGroup tg)
    {
        if (!_undo.Remove(tg, out var adj) || Removed) return;
        for (int i = 0; i < adj.Length; i++)
        {
            if (adj[i] == 0) continue;
            Values[i] = Math.Clamp(Values[i] + adj[i], 0, MaxValue);
            Pids[i] = tg.Tgid;
        }
        Queue.Notify();
    }

    /// <summary>Every process's SEM_UNDO adjustments (a checkpoint saves them).</summary>
    public IEnumerable<(ThreadGroup Process, int[] Adjustments)> UndoEntries() => _undo.Select(e => (e.Key, (int[])e.Value.Clone()));

    /// <summary>Restore: gives <paramref name="tg"/> the saved adjustments (one per semaphore, checked by the caller).</summary>
    public void RestoreUndo(ThreadGroup tg, int[] adjustments) => _undo[tg] = adjustments;

    /// <summary>True if <paramref name="tg"/> holds undo adjustments here.</summary>
    public bool HasUndo(ThreadGroup tg) => _undo.ContainsKey(tg);
}
