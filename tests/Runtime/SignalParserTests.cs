using RunscNet.Runtime;
using RunscNet.Runtime.Cli;
using Xunit;

namespace RunscNet.Tests.Runtime;

public sealed class SignalParserTests
{
    [Theory]
    [InlineData("TERM", 15)]
    [InlineData("SIGTERM", 15)]
    [InlineData("sigterm", 15)]
    [InlineData("term", 15)]
    [InlineData("15", 15)]
    [InlineData("9", 9)]
    [InlineData("KILL", 9)]
    [InlineData("SIGKILL", 9)]
    [InlineData("SIGHUP", 1)]
    [InlineData("USR1", 10)]
    [InlineData("SIGUSR2", 12)]
    [InlineData("WINCH", 28)]
    [InlineData("RTMIN", 34)]
    [InlineData("SIGRTMIN+2", 36)]
    [InlineData("RTMAX-1", 63)]
    [InlineData("64", 64)]
    public void ParsesNamesAndNumbers(string text, int expected) => Assert.Equal(expected, SignalParser.Parse(text));

    [Theory]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("-9")]
    [InlineData("FOO")]
    [InlineData("SIG")]
    [InlineData("")]
    [InlineData("RTMIN+40")]
    [InlineData("RTMAX+1")]
    public void RejectsWhatIsNoSignal(string text)
    {
        var e = Assert.Throws<RuntimeError>(() => SignalParser.Parse(text));
        Assert.Contains("invalid signal", e.Message);
    }

    [Fact]
    public void NamesSignals()
    {
        Assert.Equal("SIGKILL", SignalParser.Name(9));
        Assert.Equal("SIGABRT", SignalParser.Name(6));
        Assert.Equal("40", SignalParser.Name(40));
    }
}
