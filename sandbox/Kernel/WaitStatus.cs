namespace RunscNet.Sentry.Kernel;

/// <summary>The wait(2) status word encoding (what WIFEXITED/WEXITSTATUS... decode).</summary>
internal static class WaitStatus
{
    /// <summary>Normal exit with <paramref name="code"/> (only the low 8 bits survive).</summary>
    public static int Exited(int code) => (code & 0xff) << 8;

    /// <summary>Death by <paramref name="signo"/>, with the core-dump bit when <paramref name="core"/>.</summary>
    public static int Signaled(int signo, bool core) => (signo & 0x7f) | (core ? 0x80 : 0);

    /// <summary>Stopped by <paramref name="signo"/> (WUNTRACED).</summary>
    public static int Stopped(int signo) => ((signo & 0xff) << 8) | 0x7f;

    /// <summary>Continued by SIGCONT (WCONTINUED).</summary>
    public const int Continued = 0xffff;

    /// <summary>True for a normal exit.</summary>
    public static bool IsExited(int status) => (status & 0x7f) == 0;

    /// <summary>The exit code of a normal exit.</summary>
    public static int ExitCode(int status) => (status >> 8) & 0xff;

    /// <summary>True for a death by signal.</summary>
    public static bool IsSignaled(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;

    /// <summary>The terminating signal.</summary>
    public static int TermSignal(int status) => status & 0x7f;

    /// <summary>The si_code and si_status a SIGCHLD/waitid reports for an exit status.</summary>
    public static (int Code, int Status) ToChildInfo(int status) =>
        IsExited(status) ? (SignalInfo.CLD_EXITED, ExitCode(status))
        : ((status & 0x80) != 0 ? SignalInfo.CLD_DUMPED : SignalInfo.CLD_KILLED, TermSignal(status));
}
