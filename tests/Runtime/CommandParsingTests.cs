using RunscNet.Runtime;
using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Cli.Commands;
using Xunit;

namespace RunscNet.Tests.Runtime;

public sealed class CommandParsingTests
{
    private static T Parse<T>(params string[] args) where T : ICommand
    {
        ICommand? command = CommandDispatcher.ParseCommand(args[0], args[1..], out _);
        return Assert.IsType<T>(command);
    }

    /// <summary>One typical command line per command; the test below checks none is missing.</summary>
    private static readonly string[][] CommandLines =
    [
        new[] { "create", "--bundle", "b", "--pid-file", "p", "--console-socket", "s", "id" },
        new[] { "start", "id" },
        new[] { "run", "-d", "--bundle=b", "id" },
        new[] { "state", "id" },
        new[] { "kill", "--all", "id", "KILL" },
        new[] { "delete", "--force", "id" },
        new[] { "list", "--format", "json", "--quiet" },
        new[] { "ps", "--format", "json", "id" },
        new[] { "exec", "--env", "A=1", "id", "sh", "-c", "echo hi" },
        new[] { "pause", "id" },
        new[] { "resume", "id" },
        new[] { "events", "--stats", "--interval", "10s", "id" },
        new[] { "wait", "id" },
        new[] { "spec", "--bundle", "dir" },
        new[] { "checkpoint", "--image-path", "img", "--leave-running", "id" },
        new[] { "restore", "--image-path", "img", "--bundle", "b", "-d", "id" },
        new[] { "features" },
        new[] { "update", "--resources", "-", "id" },
        new[] { "syscalls", "--format", "json" },
        new[] { "debug", "--stacks", "id", "--unimplemented" },
        new[] { "boot", "--container-id", "id", "--bundle", "/b", "--spec-fd", "3", "--control-fd", "4", "--gofer-fd", "5" },
        new[] { "gofer", "--container-id", "id", "--bundle", "/b", "--spec-fd", "3", "--socket-fd", "4" },
    ];

    /// <summary>The command lines as theory rows.</summary>
    public static IEnumerable<object[]> EveryCommand => CommandLines.Select(line => new object[] { line });

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public void ParsesEveryCommand(string[] args)
    {
        ICommand? command = CommandDispatcher.ParseCommand(args[0], args[1..], out _);
        Assert.NotNull(command);
        Assert.Equal(args[0], CommandDispatcher.VerbName(command!.GetType()));
    }

    [Fact]
    public void TheCaseListCoversEveryCommand()
    {
        var covered = CommandLines.Select(line => line[0]).ToHashSet();
        var all = CommandDispatcher.CommandTypes.Select(t => CommandDispatcher.VerbName(t)).ToHashSet();
        Assert.Equal(all.Order(), covered.Order());
    }

    [Fact]
    public void DebugTakesItsFlagsBeforeOrAfterTheId()
    {
        var d = Parse<DebugCommand>("debug", "--stacks", "id", "--unimplemented");
        Assert.Equal(("id", true), (d.Id, d.Stacks));
        Assert.Equal(new[] { "--unimplemented" }, d.Trailing);
        Assert.Equal("json", Parse<SyscallsCommand>("syscalls", "-format", "json").Format);
    }

    [Fact]
    public void CreateReadsItsFlags()
    {
        var c = Parse<CreateCommand>("create", "--bundle", "b", "--pid-file", "p", "--console-socket", "s", "--no-pivot", "id");
        Assert.Equal(("b", "p", "s", "id"), (c.Bundle, c.PidFile, c.ConsoleSocket, c.Id));
        Assert.Equal(".", Parse<CreateCommand>("create", "x").Bundle);
    }

    [Fact]
    public void GoStyleSingleDashAndBooleanValuesWork()
    {
        var r = Parse<RunCommand>("run", "-bundle", "b", "--detach=false", "id");
        Assert.Equal("b", r.Bundle);
        Assert.False(r.Detach);
        Assert.True(Parse<RunCommand>("run", "--detach=true", "id").Detach);
        Assert.True(Parse<RunCommand>("run", "-d", "id").Detach);
    }

    [Fact]
    public void ExecKeepsTheCommandsOwnFlags()
    {
        var e = Parse<ExecCommand>("exec", "-e", "A=1", "--env", "B=2", "--cwd", "/w", "-u", "1000:1000", "id", "sh", "-c", "echo hi");
        Assert.Equal("id", e.Id);
        Assert.Equal(new[] { "sh", "-c", "echo hi" }, e.Command);
        Assert.Equal(new[] { "A=1", "B=2" }, e.Env);
        Assert.Equal("/w", e.Cwd);
        Assert.Equal("1000:1000", e.User);
    }

    [Fact]
    public void KillTakesAnOptionalSignal()
    {
        var k = Parse<KillCommand>("kill", "id");
        Assert.Equal(("id", "SIGTERM", false), (k.Id, k.Signal, k.All));
        k = Parse<KillCommand>("kill", "-a", "id", "9");
        Assert.Equal(("id", "9", true), (k.Id, k.Signal, k.All));
    }

    [Fact]
    public void ListAndPsReadTheirFormats()
    {
        var l = Parse<ListCommand>("list", "-f", "json", "-q");
        Assert.Equal(("json", true), (l.Format, l.Quiet));
        Assert.Equal("table", Parse<ListCommand>("list").Format);
        var p = Parse<PsCommand>("ps", "id", "-ef");
        Assert.Equal("id", p.Id);
        Assert.Equal(new[] { "-ef" }, p.PsOptions);
    }

    [Fact]
    public void BootAndGoferReadTheirFds()
    {
        var b = Parse<BootCommand>("boot", "--container-id", "c", "--bundle", "/b", "--spec-fd", "3", "--control-fd", "4", "--gofer-fd", "5");
        Assert.Equal(("c", "/b", 3, 4, 5, -1), (b.ContainerId, b.Bundle, b.SpecFd, b.ControlFd, b.GoferFd, b.ConsoleFd));
        var g = Parse<GoferCommand>("gofer", "--container-id", "c", "--bundle", "/b", "--socket-fd", "4");
        Assert.Equal(("c", "/b", 4), (g.ContainerId, g.Bundle, g.SocketFd));
    }

    [Theory]
    [InlineData("create")]
    [InlineData("create", "--bogus", "id")]
    [InlineData("kill")]
    [InlineData("state")]
    [InlineData("nosuchcommand", "id")]
    [InlineData("boot", "--container-id", "c")]
    public void BadCommandLinesAreOneLineErrors(params string[] args)
    {
        var e = Assert.Throws<RuntimeError>(() => CommandDispatcher.ParseCommand(args[0], args[1..], out _));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    [Fact]
    public void HelpListsTheFlagsOfACommand()
    {
        string help = CommandDispatcher.CommandHelp(typeof(CreateCommand), "create");
        Assert.Contains("--bundle", help);
        Assert.Contains("--pid-file", help);
        Assert.Contains("container-id", help);
        Assert.DoesNotContain("--no-pivot", help); // hidden compatibility flag
        string all = CommandDispatcher.HelpText();
        Assert.Contains("checkpoint", all);
        Assert.DoesNotContain("  boot ", all); // internal
    }
}
