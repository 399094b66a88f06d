using RunscNet.Sentry.Kernel;

// Lock order: handlers take the kernel's locks (Kernel/Kernel.cs has the order) and own none.
// They take Kernel.TaskLock or an IpcNamespace.Lock, never one under the other (SysVIpc
// computes the live address spaces, which takes the task lock, before it locks the namespace).
// Under IpcNamespace.Lock: shmget creates and sizes the segment's memfd (tmpfs inode locks) and
// IPC objects wake their waiters.

namespace RunscNet.Sentry.Syscalls;

/// <summary>The Sentry's system-call table: every subsystem's rows (SyscallRegistrations), built once.</summary>
public static class LinuxSyscalls
{
    /// <summary>The table with every subsystem registered.</summary>
    public static SyscallTable Table { get; } = Build();

    private static SyscallTable Build()
    {
        var t = new SyscallTable();
        SyscallRegistrations.RegisterAll(t);
        return t;
    }
}
