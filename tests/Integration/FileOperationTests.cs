namespace RunscNet.Tests.Integration;

/// <summary>
/// File operations beyond open/read/write (locks between processes, fallocate and sparse files,
/// in-kernel copies, renameat2, link counts, FIFOs, fd flags, the errno of common mistakes): the
/// fileops probe prints the same natively and in runsc-net, on a tmpfs and on a gofer bind mount.
/// </summary>
public sealed class FileOperationTests : IDisposable
{
    private readonly SyscallProbe _probe = new();

    public void Dispose() => _probe.Dispose();

    [IntegrationFact]
    public void FileOperationsOnTmpfsBehaveAsOnLinux() => _probe.AssertSameAsNative("fileops", [_probe.TempDir()], ["/tmp"]);

    [IntegrationFact]
    public void FileOperationsOnAGoferMountBehaveAsOnLinux() => _probe.AssertSameAsNative("fileops", [_probe.TempDir()], ["/data"]);
}
