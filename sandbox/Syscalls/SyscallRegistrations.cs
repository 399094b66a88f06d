using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Syscalls;

/// <summary>The list of subsystems whose handlers make up the system-call table.</summary>
internal static class SyscallRegistrations
{
    /// <summary>Registers every subsystem's rows. Add a line here for a new Syscalls/*.cs file.</summary>
    public static void RegisterAll(SyscallTable t)
    {
        // Execution side: processes, memory, signals, time, identity, system information.
        ProcessSyscalls.Register(t);
        MemorySyscalls.Register(t);
        SignalSyscalls.Register(t);
        TimeSyscalls.Register(t);
        IdentitySyscalls.Register(t);
        SystemSyscalls.Register(t);
        SchedulingSyscalls.Register(t);
        SeccompSyscalls.Register(t);
        IoPrioritySyscalls.Register(t);
        PosixTimerSyscalls.Register(t);
        // Files side: descriptors and I/O, path operations, pipes, polling, sockets.
        FileSyscalls.Register(t);
        PathSyscalls.Register(t);
        MountSyscalls.Register(t);
        PipeSyscalls.Register(t);
        PollSyscalls.Register(t);
        SocketSyscalls.Register(t);
        SignalFdSyscalls.Register(t);
        PidFdSyscalls.Register(t);
        InotifySyscalls.Register(t);
        SysVIpcSyscalls.Register(t);
    }
}
