namespace RunscNet.Sentry.Syscalls;

/// <summary>System calls of this subsystem (each handler documents the man-page semantics it implements).</summary>
internal static partial class PipeSyscalls
{
    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
    }
}
