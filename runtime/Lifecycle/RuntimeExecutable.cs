namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Which binary create re-executes as boot and gofer: ourselves (/proc/self/exe) when we are the
/// runsc-net executable, else the binary named by the RUNSC_NET environment variable (tests that
/// drive the lifecycle classes from the test host).
/// </summary>
public static class RuntimeExecutable
{
    /// <summary>The environment variable naming the runsc-net binary for hosts that are not it.</summary>
    public const string EnvironmentVariable = "RUNSC_NET";

    /// <summary>Path of the runsc-net binary to execute.</summary>
    public static string Path
    {
        get
        {
            string? self = Environment.ProcessPath;
            if (self != null && System.IO.Path.GetFileName(self) == "runsc-net") return "/proc/self/exe";
            string? configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrEmpty(configured)) return configured;
            throw new RuntimeError($"cannot find the runsc-net binary to start the sandbox: set {EnvironmentVariable}");
        }
    }
}
