namespace RunscNet.Runtime.Cli;

/// <summary>What every command gets besides its own flags.</summary>
/// <param name="Global">The global flags.</param>
/// <param name="Name">The command's name as typed ("create", "boot", ...).</param>
public sealed record CommandContext(GlobalOptions Global, string Name);

/// <summary>A parsed command, ready to run. Commands are thin: they call the lifecycle classes.</summary>
public interface ICommand
{
    /// <summary>Runs the command; returns the process exit code. User errors are thrown as <see cref="RuntimeError"/>.</summary>
    int Execute(CommandContext context);
}
