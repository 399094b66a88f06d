namespace RunscNet.Tests.Integration;

/// <summary>Path system calls compared with Linux through a probe (Probes/pathcalls.c), on tmpfs and gofer files.</summary>
public sealed class PathCallTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void FchmodatIgnoresTheFourthRegisterOnTmpfs() => _probe.AssertSameAsNative("pathcalls", [_probe.TempDir()], ["/tmp"]);

    [IntegrationFact]
    public void FchmodatIgnoresTheFourthRegisterOnContainerFiles() => _probe.AssertSameAsNative("pathcalls", [_probe.TempDir()], ["/data"]);
}
