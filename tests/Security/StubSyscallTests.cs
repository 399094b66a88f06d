using System.Text.RegularExpressions;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Issue 10 item 2: system calls made from the systrap stub's own code page. Probes/stubcall.c
/// (uid 1000, no capabilities) jumps to the stub's host-call `syscall` instruction with its own
/// registers, so the stub's seccomp filter sees a call from the stub's code. Every such call must
/// be refused or harmless: a process that tries may get an error or be killed ("no result"),
/// but never a host fd, a host process or write access the Sentry did not grant.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StubSyscallTests
{
    /// <summary>"name: -1 ERRNO" or "name: no result (...)": the call did not succeed.</summary>
    private static void AssertRefused(string output, string name)
    {
        var m = Regex.Match(output, $"^{Regex.Escape(name)}: (.*)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no result line for {name}:\n{output}");
        string v = m.Groups[1].Value;
        Assert.True(v.StartsWith("-1 E", StringComparison.Ordinal) || v.StartsWith("no result", StringComparison.Ordinal),
            $"{name} succeeded (a call from the stub's code): {v}\n{output}");
    }

    [IntegrationFact]
    public void CallsOutsideTheStubsNeedsFailWithEperm()
    {
        using var c = new AttackContainer("stubcall", "deny");
        string output = c.WaitForLine("END", 45);
        Assert.Contains("uid 1000\n", output);
        foreach (string call in new[] { "openat", "execve", "kill", "ptrace", "socket", "getpid" })
            Assert.Contains($"\n{call}: -1 EPERM\n", output);
    }

    [IntegrationFact]
    public void MemfdCreateAndSocketpairFromTheStubAreRefused()
    {
        // Only the Sentry may ask a stub for a host memfd or socket pair (for a pending command).
        using var c = new AttackContainer("stubcall", "memfd", "socketpair");
        string output = c.WaitForLine("END", 45);
        AssertRefused(output, "memfd_create");
        AssertRefused(output, "socketpair");
    }

    [IntegrationFact]
    public void GetppidFromTheStubShowsOnlyTheSandboxsPidNamespace()
    {
        // May stay allowed (the stub checks its parent with it), but must not reveal a host pid.
        using var c = new AttackContainer("stubcall", "getppid");
        string output = c.WaitForLine("END", 45);
        var m = Regex.Match(output, "^getppid: (.*)$", RegexOptions.Multiline);
        Assert.True(m.Success, output);
        string v = m.Groups[1].Value;
        Assert.True(v is "0" or "1" || v.StartsWith("-1 E", StringComparison.Ordinal) || v.StartsWith("no result", StringComparison.Ordinal),
            $"getppid from the stub: {v}");
    }

    [IntegrationFact]
    public void CloneParentFromTheStubMakesNoHostProcess()
    {
        using var c = new AttackContainer("stubcall", "clone");
        c.WaitForLine("COUNT1", 30);
        int boot = c.State().Pid;
        int before = AttackContainer.ChildrenOf(boot).Count;
        string output = c.WaitForLine("COUNT2", 30);
        int after = AttackContainer.ChildrenOf(boot).Count;
        // The attempt's own forked process (a stub the Sentry made) may still be there; a process
        // the stub cloned on its own would be one more child of the sandbox process.
        Assert.True(after - before <= 1, $"the sandbox process had {before} children before the clone, {after} after:\n{output}");
        AssertRefused(output, "clone");
        c.WaitForLine("END", 30);
    }

    [IntegrationFact]
    public void AReadOnlyTmpfsFileStaysUnchangedAfterMprotectFromTheStub()
    {
        using var c = new AttackContainer("stubcall", "mprotect", "/tmp/victim");
        string output = c.WaitForLine("END", 45);
        Assert.Contains("open O_RDWR: EACCES", output);
        AssertRefused(output, "mprotect from the stub");
        Assert.Contains("file unchanged", output);
        Assert.DoesNotContain("CHANGED", output);
    }

    [IntegrationFact]
    public void BindMountedHostFilesStayUnchangedAfterMprotectFromTheStub()
    {
        using var c = new AttackContainer("stubcall", "mprotect", "/ro/victim", "mprotect", "/rw/victim");
        string output = c.WaitForLine("END", 45);
        Assert.DoesNotContain("CHANGED", output);
        Assert.Equal(2, Regex.Matches(output, "^file unchanged$", RegexOptions.Multiline).Count);
        Assert.Equal(2, Regex.Matches(output, @"^mprotect from the stub: (-1 E|no result)", RegexOptions.Multiline).Count);
        Assert.Equal(AttackContainer.VictimContent, File.ReadAllBytes(Path.Combine(c.RoDir, "victim")));
        Assert.Equal(AttackContainer.VictimContent, File.ReadAllBytes(Path.Combine(c.RwDir, "victim")));
    }
}
