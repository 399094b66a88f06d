using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// File mappings through the platform (mmap(2) of files whose data is a host fd): shared
/// mappings share with the file and with forked children, private ones are copies, on tmpfs and
/// on container files served by the gofer; the probe must print the same natively.
/// </summary>
public sealed class MemoryMapTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void SharedMappingsOfTmpfsFilesShareAsOnLinux() => _probe.AssertSameAsNative("sharedmmap", [_probe.TempDir()], ["/tmp"]);

    [IntegrationFact]
    public void SharedMappingsOfContainerFilesShareAsOnLinux() => _probe.AssertSameAsNative("sharedmmap", [_probe.TempDir()], ["/data"]);

    [IntegrationFact]
    public void FutexesInSharedFileMappingsMeetAcrossAddressesAsOnLinux() => _probe.AssertSameAsNative("sharedfutex", [_probe.TempDir()], ["/tmp"]);

    [IntegrationFact]
    public void FutexesInSharedContainerFileMappingsMeetAcrossAddressesAsOnLinux() => _probe.AssertSameAsNative("sharedfutex", [_probe.TempDir()], ["/data"]);

    [IntegrationFact]
    public void ProcMapsNamesFilesAndSpecialMappingsAsOnLinux() => _probe.AssertSameAsNative("maps", [_probe.TempDir()], ["/data"]);

    [IntegrationFact]
    public void ProcMapsNamesTmpfsFilesAsOnLinux() => _probe.AssertSameAsNative("maps", ["/dev/shm"], ["/tmp"]);
}
