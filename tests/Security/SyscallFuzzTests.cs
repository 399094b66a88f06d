using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// The syscall fuzzer (Probes/fuzz.c) in a real container: random system calls with random and
/// boundary arguments and pointers in and outside the probe's mappings. The Sentry must survive
/// all of it: the container stops on its own within the run time plus a margin, state, wait and
/// delete still work, the fuzzer's supervisor ends normally, and no boot log holds a handler
/// exception (RunscNetBinary fails the test on the Sentry's error marker).
///
/// 10 s per test by default; RUNSC_NET_LONG_TESTS=1 (CI's long mode) makes it 150 s.
/// RUNSC_NET_FUZZ_SEED fixes the seed (else a new one per run, printed in any failure);
/// RUNSC_NET_FUZZ_SECONDS overrides the run time (for local runs of many minutes).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(AloneCollection.Name)]
public sealed class SyscallFuzzTests : IDisposable
{
    private readonly FuzzProbe _probe = new();

    /// <inheritdoc/>
    public void Dispose() => _probe.Dispose();

    private static int Seconds =>
        int.TryParse(Environment.GetEnvironmentVariable("RUNSC_NET_FUZZ_SECONDS"), out int s) && s > 0 ? s
        : Environment.GetEnvironmentVariable("RUNSC_NET_LONG_TESTS") == "1" ? 150 : 10;

    private static string Seed =>
        Environment.GetEnvironmentVariable("RUNSC_NET_FUZZ_SEED") is { Length: > 0 } s ? s
        : ((ulong)Random.Shared.NextInt64(1, long.MaxValue)).ToString();

    [IntegrationFact]
    public void UnprivilegedUserCannotCrashOrHangTheSentry() => Fuzz(1000, []);

    [IntegrationFact]
    public void RootWithDefaultCapabilitiesCannotCrashOrHangTheSentry() => Fuzz(0, null);

    private void Fuzz(uint uid, string[]? capabilities)
    {
        int seconds = Seconds;
        string seed = Seed;
        var outcome = _probe.Run("fuzz", uid, capabilities, TimeSpan.FromSeconds(seconds + 60), seed, seconds.ToString());
        string report = $"seed {seed}, {seconds} s, uid {uid} (reproduce: RUNSC_NET_FUZZ_SEED={seed} RUNSC_NET_FUZZ_SECONDS={seconds})\n"
            + $"stdout:\n{outcome.Stdout}\nstderr:\n{outcome.Stderr}";
        Assert.True(outcome.StoppedInTime, "the sandbox did not stop within the run time + 60 s: " + report);
        Assert.True(outcome.ExitStatus == 0, $"the fuzzer's supervisor exited {outcome.ExitStatus}: " + report);
        Assert.Contains("fuzz: done seed " + seed, outcome.Stdout);
        _probe.Runtime.AssertNoSentryErrors();
    }
}
