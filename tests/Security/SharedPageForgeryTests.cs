using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Issue 10 item 1: the systrap shared pages are writable by the application, so every id, fd,
/// length and address the Sentry reads there is hostile. Probes/forgery.c forges them from a
/// second thread while the Sentry runs thread-clone, fork, exec and host-call commands, as uid
/// 1000 without capabilities. Blocked means: no forged value takes effect (no "LEAK": a task
/// whose memory copies go to another process, such as the Sentry itself, pid 1 of the sandbox),
/// only the attacking process suffers (it may die), its untouched parent goes on ("parent: ok"),
/// and afterwards the container still answers `state` and `exec`.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SharedPageForgeryTests
{
    /// <summary>Seconds each attack runs (the whole test stays well under a minute).</summary>
    private const string Seconds = "5";

    [IntegrationFact]
    public void AForgedThreadIdDoesNotRedirectTheNewThreadsMemory() => Attack("thread");

    [IntegrationFact]
    public void AForgedChildPidOrMemfdDoesNotRedirectOrKillAnything() => Attack("fork");

    [IntegrationFact]
    public void ScribblingEveryFieldOfEveryPageHarmsOnlyTheAttacker() => Attack("storm");

    private static void Attack(string mode)
    {
        using var c = new AttackContainer("forgery", mode, Seconds);
        string output = c.WaitForLine("DONE", 45);
        Assert.True(output.Contains($"uid 1000 mode {mode}\n", StringComparison.Ordinal), output);
        Assert.False(output.Contains("LEAK", StringComparison.Ordinal), "a forged value took effect:\n" + output);
        Assert.False(output.Contains("hung", StringComparison.Ordinal), "the attacker could not be ended:\n" + output);
        Assert.True(output.Contains("attacker rounds: ", StringComparison.Ordinal), output);
        Assert.True(output.Contains("parent: ok\n", StringComparison.Ordinal), "the attacker's parent was harmed:\n" + output);
        // The sandbox is intact: the container runs and a new process in it works.
        Assert.Equal("running", c.State().Status);
        var exec = c.Exec("/probe/forgery", "check");
        Assert.True(exec.ExitCode == 0, $"exec after the attack exited {exec.ExitCode}: {exec.Stdout}{exec.Stderr}\ncontainer output:\n{output}");
        Assert.Equal("check ok uid 0\n", exec.Stdout);
    }
}
