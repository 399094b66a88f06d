using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// File seals (fcntl F_ADD_SEALS/F_GET_SEALS): EINVAL for files that cannot have them (pipes,
/// sockets, disk files), F_SEAL_SEAL on tmpfs files and memfds made without MFD_ALLOW_SEALING,
/// and what F_SEAL_WRITE/GROW/SHRINK/FUTURE_WRITE/EXEC forbid; the probe prints the same natively.
/// </summary>
public sealed class FileSealTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void SealsBehaveAsOnLinux() => _probe.AssertSameAsNative("seals", [_probe.TempDir(), "/dev/shm"], ["/data", "/tmp"]);
}
