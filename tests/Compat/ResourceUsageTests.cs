using RunscNet.Tests.Integration;

namespace RunscNet.Tests.Compat;

/// <summary>
/// getrusage's ru_maxrss for the process and its reaped children, and the resident set in
/// /proc/self/statm, stat and status (Node's process.memoryUsage, Python's resource module, GNU
/// time, build tools report it), and I/O priorities (ionice): the probes run natively and in runsc-net.
/// </summary>
public sealed class ResourceUsageTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void PeakResidentSetIsReportedAsOnLinux() => _probe.AssertSameAsNative("rusage", [], []);

    [IntegrationFact]
    public void IoPrioritiesBehaveAsOnLinux() => _probe.AssertSameAsNative("ioprio", [], []);
}
