using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Sentry.Exec;

/// <summary>
/// An in-process Sentry test that runs the busybox rootfs's programs (<see cref="SentryHarness.BusyboxRoot"/>).
/// Skipped, saying why, when there is no rootfs, instead of returning early and passing.
/// </summary>
public sealed class RootfsFactAttribute : FactAttribute
{
    /// <param name="needsFiles">Space-separated host files the test also copies into the rootfs.</param>
    public RootfsFactAttribute(string? needsFiles = null) => Skip = RootfsSkip.Reason(needsFiles);
}

/// <summary>The <see cref="RootfsFactAttribute"/> of a theory.</summary>
public sealed class RootfsTheoryAttribute : TheoryAttribute
{
    public RootfsTheoryAttribute() => Skip = RootfsSkip.Reason(null);
}

internal static class RootfsSkip
{
    public static string? Reason(string? needsFiles) =>
        SentryHarness.BusyboxRoot == "" ? "neither RUNSC_NET_ROOTFS nor RUNSC_TEST_BUSYBOX_ROOT names a busybox rootfs with bin/busybox (scripts/test.sh builds it)"
        : TestRequirements.SkipReason(needsBinary: false, needsRoot: false, needsRootfs: false, needsFiles: needsFiles);
}
