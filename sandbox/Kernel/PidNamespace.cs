namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A PID namespace below the sandbox's (a pod container that shares no PID namespace with the
/// pod: Kubernetes' default, shareProcessNamespace false). The kernel keeps one PID space (its
/// tables stay keyed by the sandbox's numbers, which the host side and the root container see);
/// a process of this namespace also has a number here, its init 1, and sees only the processes
/// of its namespace, by these numbers (getpid, kill, wait, /proc...). Numbers are not reused
/// while the sandbox-wide ID lives.
/// Preconditions: every member is used with <see cref="Kernel.TaskLock"/> held.
/// </summary>
internal sealed class PidNamespace
{
    private readonly Dictionary<int, int> _local = new(); // sandbox ID -> ID here
    private readonly Dictionary<int, int> _global = new(); // ID here -> sandbox ID
    private int _last;

    /// <summary>The namespace's init (PID 1 here): orphans of the namespace are reparented to it.</summary>
    public ThreadGroup? Init { get; set; }

    /// <summary>Gives sandbox-wide ID <paramref name="id"/> a number here (once); returns it.</summary>
    internal int AddLocked(int id)
    {
        if (_local.TryGetValue(id, out int existing)) return existing;
        for (int n = 0; n < Kernel.PidMax; n++)
        {
            int local = _last + 1;
            if (local >= Kernel.PidMax) local = 2;
            _last = local;
            if (_global.ContainsKey(local)) continue;
            _local[id] = local;
            _global[local] = id;
            return local;
        }
        throw new InvalidOperationException("no free process IDs in the PID namespace");
    }

    /// <summary>Forgets sandbox-wide ID <paramref name="id"/>.</summary>
    internal void RemoveLocked(int id)
    {
        if (_local.Remove(id, out int local)) _global.Remove(local);
    }

    /// <summary>The number here of sandbox-wide ID <paramref name="id"/>; 0 if it is not in this namespace.</summary>
    internal int LocalOf(int id) => _local.TryGetValue(id, out int local) ? local : 0;

    /// <summary>The sandbox-wide ID of number <paramref name="local"/> here; 0 if there is none.</summary>
    internal int GlobalOf(int local) => _global.TryGetValue(local, out int id) ? id : 0;
}

internal sealed partial class Kernel
{
    /// <summary>
    /// The number <paramref name="viewer"/> sees for process, thread, process group or session ID
    /// <paramref name="id"/> (a sandbox-wide ID): itself in the sandbox's namespace, else its number
    /// in the viewer's namespace, 0 when it lies outside (as Linux reports a parent outside).
    /// </summary>
    public int IdSeenBy(Task viewer, int id)
    {
        var ns = ((ThreadGroup?)viewer.ThreadGroup)?.PidNamespace;
        if (ns == null || id <= 0) return id;
        lock (TaskLock) return ns.LocalOf(id);
    }

    /// <summary>
    /// The sandbox-wide ID of the number <paramref name="id"/> (&gt; 0) that <paramref name="viewer"/>
    /// gave; 0 when nothing in the viewer's namespace has it.
    /// </summary>
    public int IdGivenBy(Task viewer, int id)
    {
        var ns = ((ThreadGroup?)viewer.ThreadGroup)?.PidNamespace;
        if (ns == null || id <= 0) return id;
        lock (TaskLock) return ns.GlobalOf(id);
    }

    /// <summary>True if <paramref name="viewer"/> can see process <paramref name="g"/> (same namespace or one below).</summary>
    public bool CanSee(Task viewer, ThreadGroup g)
    {
        var ns = ((ThreadGroup?)viewer.ThreadGroup)?.PidNamespace;
        return ns == null || g.PidNamespace == ns;
    }
}

internal sealed partial class Kernel
{
    /// <summary>The task with thread ID <paramref name="tid"/> as <paramref name="viewer"/> numbers it, or null.</summary>
    public Task? TaskByTid(Task viewer, int tid)
    {
        int id = IdGivenBy(viewer, tid);
        return id > 0 ? TaskByTid(id) : null;
    }

    /// <summary>The process with ID <paramref name="pid"/> as <paramref name="viewer"/> numbers it (zombies included), or null.</summary>
    public ThreadGroup? ThreadGroupByPid(Task viewer, int pid)
    {
        int id = IdGivenBy(viewer, pid);
        return id > 0 ? ThreadGroupByPid(id) : null;
    }
}
