using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Event;

/// <summary>
/// A pidfd (pidfd_open(2)): a file that refers to one process. It becomes readable (POLLIN)
/// when the process has exited, and reports POLLHUP too once it has been reaped. read and write
/// give EINVAL.
/// </summary>
internal sealed class PidFdFile : FileDescription
{
    /// <summary>A pidfd for <paramref name="target"/> (always close-on-exec; O_NONBLOCK from PIDFD_NONBLOCK).</summary>
    public PidFdFile(ThreadGroup target, int flags)
    {
        Target = target;
        StatusFlags = OpenFlags.O_RDWR | flags;
    }

    /// <summary>The process the file refers to.</summary>
    public ThreadGroup Target { get; }

    /// <summary>True once every thread of the process has exited (a zombie or reaped).</summary>
    public bool Exited
    {
        get { lock (Target.Kernel.TaskLock) return Target.Zombie; }
    }

    /// <summary>True once the process has been reaped (its PID is free).</summary>
    public bool Reaped => Target.Kernel.ThreadGroupByPid(Target.Tgid) != Target;

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        if (!Exited) return 0;
        int ev = PollEvents.POLLIN | PollEvents.POLLRDNORM;
        if (Reaped) ev |= PollEvents.POLLHUP;
        return (short)(ev & (mask | PollEvents.POLLHUP));
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => Target.ExitEvents;

    /// <inheritdoc/>
    public override string AnonymousName => "anon_inode:[pidfd]";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(0x180);
        return 0;
    }
}
