using RunscNet.Sentry.Control;

namespace RunscNet.Sentry.Boot;

/// <summary>The body of `runsc-net boot`: the sandbox process.</summary>
public static class BootProcess
{
    /// <summary>
    /// Runs the sandbox until it ends; returns the process exit code. For now it only serves the
    /// control socket with <see cref="UnavailableSandboxControl"/> (start fails with "not supported
    /// yet"); the Sentry's kernel replaces that control.
    /// </summary>
    public static int Run(BootOptions options)
    {
        var server = new ControlServer(options.ControlFd, new UnavailableSandboxControl(), options.DebugLog);
        server.Serve();
        return 1;
    }
}
