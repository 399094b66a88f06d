using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Compat;

/// <summary>
/// A tmpfs directory lists and stats as on Linux (tar, find and `ls -U` print in getdents order,
/// `ls -s`/`du` show st_blocks): the tmpfsdir probe runs natively in a directory of the host's
/// /dev/shm (a tmpfs) and in the container's /tmp, and must print the same.
/// </summary>
public sealed class TmpfsDirectoryTests : IDisposable
{
    private readonly SyscallProbe _probe = new();
    private readonly string _nativeDir = Directory.CreateDirectory(Path.Combine("/dev/shm", "runsc-net-compat-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose()
    {
        _probe.Dispose();
        try { Directory.Delete(_nativeDir, recursive: true); } catch (IOException) { }
    }

    [IntegrationFact]
    public void TmpfsListsNewestFirstAndCountsNoBlocksForDirectoriesAsLinux()
        => _probe.AssertSameAsNative("tmpfsdir", [_nativeDir], ["/tmp"]);
}
