using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// A test that runs the published binary. Skipped, with the reason shown by the test runner, when
/// RUNSC_NET does not name the binary or (with <see cref="NeedsRoot"/>) when not run as root.
/// </summary>
public sealed class IntegrationFactAttribute : FactAttribute
{
    /// <summary>Decides the skip reason from the environment.</summary>
    public IntegrationFactAttribute(bool needsRoot = true, bool needsRootfs = false)
    {
        if (needsRootfs && Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS") is not { Length: > 0 })
            Skip = "RUNSC_NET_ROOTFS does not name a root file system with a shell (scripts/test.sh sets it)";
        else if (RunscNetBinary.Path == null)
            Skip = "RUNSC_NET does not name the published runsc-net binary (scripts/test.sh sets it)";
        else if (needsRoot && Environment.UserName != "root")
            Skip = "needs root: create makes pid, mount, network namespaces";
    }
}
