using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Syscalls;
using Xunit;

namespace RunscNet.Tests.Sentry;

/// <summary>
/// A handler exception is a Sentry bug: the application gets EINVAL, and the debug log gets the
/// SENTRY-ERROR marker line that the integration harness (RunscNetBinary) fails tests on.
/// </summary>
public sealed class SyscallDispatchTests
{
    [Fact]
    public void AThrowingHandlerAnswersEinvalAndLogsTheSentryErrorMarker()
    {
        var lines = new List<string>();
        var log = new DebugLog(lines.Add);
        var entry = new SyscallEntry(39, "getpid", SupportLevel.Supported, null) { Handler = (_, in _) => throw new InvalidOperationException("handler bug") };
        long r = SyscallDispatch.Invoke(entry, null!, new SyscallArguments(1, 2, 3, 4, 5, 6), log);
        Assert.Equal(-Errno.EINVAL, r);
        string line = Assert.Single(lines);
        Assert.StartsWith(DebugLog.SentryErrorMarker + " system call getpid (39)", line);
        Assert.Contains("args (0x1, 0x2, 0x3, 0x4, 0x5, 0x6)", line);
        Assert.Contains("handler bug", line);
        // The harness's scan (what fails an integration test) finds it in a boot log.
        string dir = Directory.CreateTempSubdirectory("dispatch-log-").FullName;
        try
        {
            File.WriteAllLines(Path.Combine(dir, "boot.log"), lines);
            Assert.Single(Integration.RunscNetBinary.SentryErrors(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AHandlerResultPassesThroughWithoutALogLine()
    {
        var lines = new List<string>();
        var entry = new SyscallEntry(39, "getpid", SupportLevel.Supported, null) { Handler = (_, in a) => (long)a.A0 + 1 };
        Assert.Equal(8, SyscallDispatch.Invoke(entry, null!, new SyscallArguments(7, 0, 0, 0, 0, 0), new DebugLog(lines.Add)));
        Assert.Empty(lines);
    }

    [Fact]
    public void UnimplementedCallsAreCountedPerProgram()
    {
        var u = new UnimplementedCalls();
        u.Record("app", 300);
        u.Record("app", 300);
        u.Record("sh", 12);
        Assert.Equal(new[] { ("app", 300L, 2L), ("sh", 12L, 1L) }, u.Snapshot());
    }
}
