using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// A test that runs the published binary. Skipped, with the reason shown by the test runner, when
/// RUNSC_NET does not name the binary or something else it needs is missing (see the parameters and
/// <see cref="TestRequirements"/>). A test never returns early instead: that would pass.
/// </summary>
public sealed class IntegrationFactAttribute : FactAttribute
{
    /// <summary>Decides the skip reason from the environment.</summary>
    /// <param name="needsRoot">Skip unless run as root.</param>
    /// <param name="needsRootfs">Skip unless RUNSC_NET_ROOTFS names the busybox rootfs (the test runs its programs).</param>
    /// <param name="needsTools">Space-separated programs that must be on PATH (e.g. "podman ctr").</param>
    /// <param name="needsFiles">Space-separated host files the test copies or runs.</param>
    /// <param name="needsContainerd">Skip unless a containerd daemon answers on its socket.</param>
    /// <param name="needsPythonRootfs">Skip unless the CPython rootfs (<see cref="TestRequirements.PythonRootfs"/>) is built.</param>
    public IntegrationFactAttribute(bool needsRoot = true, bool needsRootfs = false, string? needsTools = null,
        string? needsFiles = null, bool needsContainerd = false, bool needsPythonRootfs = false)
    {
        Skip = TestRequirements.SkipReason(needsBinary: true, needsRoot, needsRootfs, needsTools, needsFiles, needsContainerd, needsPythonRootfs);
    }
}

/// <summary>The theory form of <see cref="IntegrationFactAttribute"/>: the same requirements, skipped with the same reasons.</summary>
public sealed class IntegrationTheoryAttribute : TheoryAttribute
{
    /// <summary>Decides the skip reason from the environment (see <see cref="IntegrationFactAttribute"/>).</summary>
    public IntegrationTheoryAttribute(bool needsRoot = true, bool needsRootfs = false, string? needsTools = null,
        string? needsFiles = null, bool needsContainerd = false)
    {
        Skip = TestRequirements.SkipReason(needsBinary: true, needsRoot, needsRootfs, needsTools, needsFiles, needsContainerd);
    }
}
