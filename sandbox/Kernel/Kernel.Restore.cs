namespace RunscNet.Sentry.Kernel;

internal sealed partial class Kernel
{
    /// <summary>
    /// Registers a restored process with its saved <paramref name="pid"/> under
    /// <paramref name="parent"/> (null: init or parentless), in process group <paramref name="pgid"/>
    /// of <paramref name="session"/>, with one not yet started task <paramref name="leader"/>
    /// (the caller builds the task; its Tid must be <paramref name="pid"/>). Returns false when the
    /// pid is taken or out of range (a hostile image). Pid 1 becomes <see cref="Init"/>.
    /// </summary>
    public bool RegisterRestored(ThreadGroup tg, Task leader, ThreadGroup? parent, int pgid, Session session, bool zombie)
    {
        int pid = tg.Tgid;
        lock (TaskLock)
        {
            if (pid < 1 || pid >= PidMax || _groups.ContainsKey(pid) || _tasks.ContainsKey(pid)) return false;
            if (pgid < 1 || pgid >= PidMax) return false;
            tg.Parent = parent;
            leader.ThreadGroup = tg;
            tg.SetLeader(leader);
            if (!zombie)
            {
                tg.Tasks.Add(leader);
                RegisterLocked(leader);
            }
            JoinProcessGroupLocked(tg, pgid, session);
            RegisterLocked(tg);
            parent?.Children.Add(tg);
            if (pid == 1) Init = tg;
            if (zombie)
            {
                tg.Zombie = true;
                leader.Exited = true;
                tg.ExitedEvent.Set();
            }
            return true;
        }
    }

    /// <summary>Adds restored thread <paramref name="t"/> (its Tid saved) to <paramref name="tg"/>; false when the tid is taken or invalid.</summary>
    public bool RegisterRestoredThread(ThreadGroup tg, Task t)
    {
        lock (TaskLock)
        {
            if (t.Tid < 1 || t.Tid >= PidMax || _tasks.ContainsKey(t.Tid) || _groups.ContainsKey(t.Tid)) return false;
            t.ThreadGroup = tg;
            tg.Tasks.Add(t);
            RegisterLocked(t);
            return true;
        }
    }

    /// <summary>Continues PID allocation after <paramref name="lastPid"/> (restore).</summary>
    public void SetLastPid(int lastPid)
    {
        lock (TaskLock) _lastPid = Math.Clamp(lastPid, 1, PidMax - 1);
    }

    /// <summary>Records a restored zombie's wait status.</summary>
    internal static void SetExitStatus(ThreadGroup tg, int status) => tg.ExitStatus = status;
}
