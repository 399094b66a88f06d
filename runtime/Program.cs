using RunscNet.StateFile;
using RunscNet.Runtime.Cli;

namespace RunscNet.Runtime;

/// <summary>Entry point of runsc-net: the OCI commands and the internal boot and gofer processes.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns its exit code.</summary>
    public static int Main(string[] args)
    {
        // Before anything can ask System.Console about the terminal (the CLI parser does): the
        // runtime never writes to the caller's terminal itself (see RawStdio).
        RawStdio.KeepConsoleOffTerminal();
        // The fast path callers hit most in health checks: no parser set-up at all.
        if (args.Length == 1 && args[0] is "--version" or "-v" or "-version")
        {
            RawStdio.Out.Write(RuntimeVersion.Text);
            return 0;
        }
        return CommandDispatcher.Run(args);
    }
}
