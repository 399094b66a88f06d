namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// The host threads of one systrap stub process (one application address space): which thread
/// slots (<see cref="SystrapStub.SlotPage"/>) are taken, and how many contexts still use the
/// process, so the last one to go kills it while earlier ones only end their own thread.
/// Shared by the <see cref="SystrapContext"/>s of the process; thread-safe.
/// </summary>
internal sealed class StubThreads
{
    private readonly object _lock = new();
    private readonly bool[] _taken = new bool[SystrapStub.MaxThreads];
    private readonly HashSet<int> _tids = [];
    private int _users;

    /// <summary>A process whose first context uses slot <paramref name="firstSlot"/>.</summary>
    public StubThreads(int pid, int firstSlot, ulong vdsoBase, IReadOnlyList<(ulong, ulong)> reserved)
    {
        Pid = pid;
        VdsoBase = vdsoBase;
        Reserved = reserved;
        FirstSlot = firstSlot;
        _taken[firstSlot] = true;
        _tids.Add(pid);
        _users = 1;
    }

    /// <summary>
    /// Records <paramref name="tid"/> as the host thread of a new context; false when another
    /// context of the process already drives that thread (a forged id from the shared page).
    /// </summary>
    public bool ClaimTid(int tid)
    {
        lock (_lock) return _tids.Add(tid);
    }

    /// <summary>The host thread <paramref name="tid"/> is gone or abandoned.</summary>
    public void ReleaseTid(int tid)
    {
        if (tid == Pid) return;
        lock (_lock) _tids.Remove(tid);
    }

    /// <summary>Host pid of the stub process (its thread group ID).</summary>
    public int Pid { get; }

    /// <summary>The slot of the process's main host thread (never reused: the host does not tell when it is gone).</summary>
    public int FirstSlot { get; }

    /// <summary>Address of the host vDSO in the process.</summary>
    public ulong VdsoBase { get; }

    /// <summary>Ranges the stub occupies (shared by all its threads).</summary>
    public IReadOnlyList<(ulong Start, ulong End)> Reserved { get; }

    /// <summary>Takes a free slot for a new thread and counts its context as a user; -1 when all are taken.</summary>
    public int TakeSlot()
    {
        lock (_lock)
        {
            for (int i = 0; i < _taken.Length; i++)
            {
                if (_taken[i]) continue;
                _taken[i] = true;
                _users++;
                return i;
            }
            return -1;
        }
    }

    /// <summary>
    /// A context stops using the process. Returns true when it was the last one (the caller kills
    /// the process); otherwise the caller ends its own thread and then frees its slot with
    /// <see cref="FreeSlot"/>.
    /// </summary>
    public bool Release()
    {
        lock (_lock) return --_users == 0;
    }

    /// <summary>Makes <paramref name="slot"/> reusable (its host thread is gone); the main thread's slot stays taken.</summary>
    public void FreeSlot(int slot)
    {
        if (slot == FirstSlot) return;
        lock (_lock) _taken[slot] = false;
    }
}
