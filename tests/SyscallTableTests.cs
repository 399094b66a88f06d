using RunscNet.Sentry.Syscalls;
using Xunit;

namespace RunscNet.Tests;

public class SyscallTableTests
{
    [Fact]
    public void UnknownNumbersHaveNoEntry()
    {
        Assert.Null(LinuxSyscalls.Table.Lookup(-1));
        Assert.Null(LinuxSyscalls.Table.Lookup(100000));
    }
}
