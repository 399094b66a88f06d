using RunscNet.Runtime.Cli;

namespace RunscNet.Runtime;

/// <summary>Entry point of runsc-net: the OCI commands and the internal boot and gofer processes.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns its exit code.</summary>
    public static int Main(string[] args)
    {
        // The fast path callers hit most in health checks: no parser set-up at all.
        if (args.Length == 1 && args[0] is "--version" or "-v" or "-version")
        {
            Console.Out.Write(RuntimeVersion.Text);
            return 0;
        }
        return CommandDispatcher.Run(args);
    }
}
