namespace RunscNet.Runtime;

/// <summary>
/// A failure to report to the user as one line (no stack trace), with the exit code to use.
/// The message says what failed and on what.
/// </summary>
public class RuntimeError : Exception
{
    /// <summary>Creates the error with a user-facing <paramref name="message"/>.</summary>
    public RuntimeError(string message, int exitCode = 1) : base(message) { ExitCode = exitCode; }

    /// <summary>Creates the error wrapping <paramref name="inner"/>.</summary>
    public RuntimeError(string message, Exception inner, int exitCode = 1) : base(message, inner) { ExitCode = exitCode; }

    /// <summary>The process exit code for this failure.</summary>
    public int ExitCode { get; }
}

/// <summary>A command or option whose machinery comes in a later version.</summary>
public sealed class NotSupportedYetError : RuntimeError
{
    /// <summary>Creates the error naming <paramref name="what"/> ("checkpoint", "--systemd-cgroup", ...).</summary>
    public NotSupportedYetError(string what) : base($"{what} is not supported yet by runsc-net") { }
}
