using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// A test that runs the published binary. Skipped, with the reason shown by the test runner, when
/// RUNSC_NET does not name the binary or (with <see cref="NeedsRoot"/>) when not run as root.
/// </summary>
public sealed class IntegrationFactAttribute : FactAttribute
{
    /// <summary>Decides the skip reason from the environment.</summary>
    /// <param name="needsRoot">Skip unless run as root.</param>
    /// <param name="needsRootfs">Skip unless RUNSC_NET_ROOTFS names the busybox rootfs (the test runs its programs).</param>
    public IntegrationFactAttribute(bool needsRoot = true, bool needsRootfs = false)
    {
        if (RunscNetBinary.Path == null)
            Skip = "RUNSC_NET does not name the published runsc-net binary (scripts/test.sh sets it)";
        else if (needsRoot && Environment.UserName != "root")
            Skip = "needs root: create makes pid, mount, network namespaces";
        else if (needsRootfs && !(Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS") is { Length: > 0 } rootfs && Directory.Exists(rootfs)))
            Skip = "RUNSC_NET_ROOTFS does not name the busybox rootfs (scripts/test.sh builds it)";
    }
}
