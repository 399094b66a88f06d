using RunscNet.Runtime;
using RunscNet.Runtime.Lifecycle;
using Xunit;

namespace RunscNet.Tests.Runtime;

/// <summary>Which sandbox a container joins, from containerd's and CRI-O's annotations.</summary>
public sealed class SandboxMembershipTests
{
    [Fact]
    public void NoAnnotationsOrTypeSandboxStartASandbox()
    {
        Assert.Null(SandboxMembership.SandboxToJoin("c", null));
        Assert.Null(SandboxMembership.SandboxToJoin("c", new()));
        Assert.Null(SandboxMembership.SandboxToJoin("c", new() { ["io.kubernetes.cri.container-type"] = "sandbox", ["io.kubernetes.cri.sandbox-id"] = "c" }));
        Assert.Null(SandboxMembership.SandboxToJoin("c", new() { ["io.kubernetes.cri-o.ContainerType"] = "sandbox" }));
    }

    [Fact]
    public void TypeContainerJoinsTheNamedSandbox()
    {
        Assert.Equal("pod", SandboxMembership.SandboxToJoin("c", new() { ["io.kubernetes.cri.container-type"] = "container", ["io.kubernetes.cri.sandbox-id"] = "pod" }));
        Assert.Equal("pod", SandboxMembership.SandboxToJoin("c", new() { ["io.kubernetes.cri-o.ContainerType"] = "container", ["io.kubernetes.cri-o.SandboxID"] = "pod" }));
        // A container naming itself is a sandbox's root.
        Assert.Null(SandboxMembership.SandboxToJoin("pod", new() { ["io.kubernetes.cri.container-type"] = "container", ["io.kubernetes.cri.sandbox-id"] = "pod" }));
    }

    [Fact]
    public void ContainerWithoutSandboxOrUnknownTypeIsRefused()
    {
        var e = Assert.Throws<RuntimeError>(() => SandboxMembership.SandboxToJoin("c", new() { ["io.kubernetes.cri.container-type"] = "container" }));
        Assert.Contains("names no sandbox", e.Message);
        Assert.Throws<RuntimeError>(() => SandboxMembership.SandboxToJoin("c", new() { ["io.kubernetes.cri.container-type"] = "podlet" }));
    }
}
