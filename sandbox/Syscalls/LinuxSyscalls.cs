using RunscNet.Sentry.Kernel;

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
