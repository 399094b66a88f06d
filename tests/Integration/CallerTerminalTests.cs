using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// The runtime never writes to the caller's terminal itself: run under a pseudo-terminal (as from
/// an interactive shell, stdin, stdout and stderr all the tty), the first bytes the terminal gets
/// are the container's own output or our own message, with no escape sequence anywhere (.NET's
/// System.Console writes terminfo's keypad_xmit, "\e[?1h\e=", when it initialises on a tty).
/// `script` (util-linux) provides the pty, makes it the controlling terminal and relays its output.
/// </summary>
public sealed class CallerTerminalTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    /// <summary>Runs runsc-net with <paramref name="args"/> on a fresh pty; returns what the pty showed.</summary>
    private CommandResult OnTerminal(params string[] args)
    {
        string[] all = [RunscNetBinary.Path!, "--root", _runsc.Root, "--debug-log", _runsc.DebugLogDir + "/", .. args];
        string command = string.Join(' ', all.Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        return SyscallProbe.Exec("script", ["-qec", command, "/dev/null"]);
    }

    [IntegrationFact(needsRootfs: true, needsTools: "script")]
    public void RunOnATerminalShowsOnlyTheContainersOutput()
    {
        string bundle = Bundles.Make("/bin/echo", "hello from the container");
        _dirs.Add(bundle);
        var r = OnTerminal("run", "--bundle", bundle, "tty-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.True(r.ExitCode == 0, $"run exited {r.ExitCode}: {r.Stdout}{r.Stderr}");
        // The pty turns \n into \r\n; nothing may come before or after the container's line.
        Assert.Equal("hello from the container\r\n", r.Stdout);
    }

    [IntegrationFact(needsTools: "script")]
    public void CommandsOnATerminalWriteNoEscapeSequences()
    {
        var state = OnTerminal("state", "no-such-container");
        Assert.NotEqual(0, state.ExitCode);
        Assert.StartsWith("runsc-net: ", state.Stdout);
        var list = OnTerminal("list");
        Assert.Equal(0, list.ExitCode);
        Assert.StartsWith("ID", list.Stdout);
        var help = OnTerminal("--help");
        Assert.DoesNotContain('\u001b', help.Stdout);
        Assert.DoesNotContain('\u001b', list.Stdout + state.Stdout);
    }
}
