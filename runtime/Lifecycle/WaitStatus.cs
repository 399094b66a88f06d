namespace RunscNet.Runtime.Lifecycle;

/// <summary>Decoding of wait(2) status words.</summary>
public static class WaitStatus
{
    /// <summary>True if the process exited normally.</summary>
    public static bool Exited(int status) => (status & 0x7f) == 0;

    /// <summary>The exit code of a normal exit.</summary>
    public static int ExitCode(int status) => (status >> 8) & 0xff;

    /// <summary>True if a signal killed the process.</summary>
    public static bool Signaled(int status) => (status & 0x7f) is not 0 and not 0x7f;

    /// <summary>The signal that killed the process.</summary>
    public static int TermSignal(int status) => status & 0x7f;

    /// <summary>The shell's convention, used by run and wait: the exit code, or 128 + the killing signal.</summary>
    public static int ToExitCode(int status) => Signaled(status) ? 128 + TermSignal(status) : ExitCode(status);

    /// <summary>Encodes a normal exit with <paramref name="code"/>.</summary>
    public static int FromExitCode(int code) => (code & 0xff) << 8;

    /// <summary>Encodes death by <paramref name="signal"/>.</summary>
    public static int FromSignal(int signal) => signal & 0x7f;

    /// <summary>"exited with status 3" / "was killed by signal 9".</summary>
    public static string Describe(int status)
        => Signaled(status) ? $"was killed by signal {TermSignal(status)}" : $"exited with status {ExitCode(status)}";
}
