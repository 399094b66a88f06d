namespace RunscNet.Sentry.Kernel;

/// <summary>A session (setsid(2)): the process groups of one login/job-control domain.</summary>
internal sealed class Session
{
    /// <summary>Session ID (the pid of its leader).</summary>
    public int Id { get; }

    /// <summary>The controlling terminal, set by the tty code (opaque to the execution side).</summary>
    public object? ControllingTerminal { get; set; }

    /// <summary>The foreground process group of the controlling terminal (tty code maintains it).</summary>
    public ProcessGroup? Foreground { get; set; }

    /// <summary>A session with leader pid <paramref name="id"/>.</summary>
    public Session(int id) => Id = id;
}

/// <summary>A process group (setpgid(2)): the thread groups of one job.</summary>
internal sealed class ProcessGroup
{
    /// <summary>Process group ID.</summary>
    public int Id { get; }

    /// <summary>The session the group belongs to.</summary>
    public Session Session { get; }

    /// <summary>Members (guarded by <see cref="Kernel.TaskLock"/>).</summary>
    public List<ThreadGroup> Members { get; } = new();

    /// <summary>A group with ID <paramref name="id"/> in <paramref name="session"/>.</summary>
    public ProcessGroup(int id, Session session)
    {
        Id = id;
        Session = session;
    }
}
