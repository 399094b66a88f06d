using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Regressions for what the syscall fuzzer found, each a probe run natively and in the sandbox
/// with the same output expected (and, through RunscNetBinary, no Sentry error logged).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FuzzRegressionTests : IDisposable
{
    private readonly FuzzProbe _probe = new();

    /// <inheritdoc/>
    public void Dispose() => _probe.Dispose();

    private void AssertSameAsNative(string probe)
    {
        var native = FuzzProbe.RunNative(probe);
        Assert.True(native.ExitCode == 0, native.Stdout + native.Stderr);
        var sandboxed = _probe.Run(probe, 1000, [], TimeSpan.FromSeconds(60));
        Assert.True(sandboxed.ExitStatus == 0, $"exit {sandboxed.ExitStatus}\n{sandboxed.Stdout}{sandboxed.Stderr}");
        Assert.Equal(native.Stdout, sandboxed.Stdout);
    }

    /// <summary>
    /// Out-of-range, negative and x32 system call numbers killed the calling process under
    /// systrap (the Sentry's seccomp filter, inherited by the stubs, answered KILL_PROCESS, which
    /// beats the stub's TRAP); Linux answers ENOSYS and ignores the number's high 32 bits.
    /// </summary>
    [IntegrationFact]
    public void BadSystemCallNumbersAnswerAsOnLinux() => AssertSameAsNative("sysnr");

    /// <summary>
    /// alarm/setitimer/timerfd_settime beyond 49.7 days threw in the Sentry (Threading.Timer's
    /// limit); mincore with a huge length overflowed or allocated length/4096 bytes.
    /// </summary>
    [IntegrationFact]
    public void HugeTimesAndLengthsAnswerAsOnLinux() => AssertSameAsNative("hugeargs");
}
