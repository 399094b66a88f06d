using RunscNet.Sentry.Syscalls;
using Xunit;

namespace RunscNet.Tests;

public class SyscallTableTests
{
    [Fact]
    public void UnknownNumbersHaveNoEntry()
    {
        Assert.Null(SyscallTable.Default.Lookup(-1));
        Assert.Null(SyscallTable.Default.Lookup(100000));
    }
}
