using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Pipe;
using Xunit;

namespace RunscNet.Tests.Sentry.Files;

public class FdTableTests
{
    private static PipeFile NewEnd(Pipe p, int flags) => new(p, flags);

    [Fact]
    public void InstallUsesLowestFreeFdAtOrAboveMinimum()
    {
        var t = new FdTable();
        var p = new Pipe();
        var f = NewEnd(p, OpenFlags.O_RDONLY);
        Assert.Equal(0, t.Install(f, false));
        Assert.Equal(1, t.Install(f, false));
        Assert.Equal(2, t.Install(f, false));
        Assert.Equal(0, t.Close(1));
        Assert.Equal(1, t.Install(f, false));
        Assert.Equal(10, t.Install(f, false, 10));
        Assert.Equal(3, t.Install(f, false));
        Assert.Equal(-Errno.EBADF, t.Close(7));
    }

    [Fact]
    public void LimitGivesEmfileAndInstallAtBeyondLimitGivesEbadf()
    {
        var t = new FdTable { Limit = 2 };
        var f = NewEnd(new Pipe(), OpenFlags.O_RDONLY);
        Assert.Equal(0, t.Install(f, false));
        Assert.Equal(1, t.Install(f, false));
        Assert.Equal(-Errno.EMFILE, t.Install(f, false));
        Assert.Equal(-Errno.EBADF, t.InstallAt(5, f, false));
    }

    [Fact]
    public void CloseOnExecClosesOnlyMarkedFds()
    {
        var t = new FdTable();
        var f = NewEnd(new Pipe(), OpenFlags.O_RDONLY);
        t.Install(f, false);
        t.Install(f, true);
        t.Install(f, false);
        t.SetCloseOnExec(2, true);
        t.CloseOnExec();
        Assert.NotNull(t.Get(0));
        Assert.Null(t.Get(1));
        Assert.Null(t.Get(2));
    }

    [Fact]
    public void ForkCopyHoldsItsOwnReferences()
    {
        var pipe = new Pipe();
        var t = new FdTable();
        t.InstallNew(NewEnd(pipe, OpenFlags.O_WRONLY), false);
        Assert.Equal(1, pipe.Writers);
        var child = t.Fork();
        t.CloseAll();
        // The child's copy still holds the write end open.
        Assert.Equal(1, pipe.Writers);
        child.CloseAll();
        Assert.Equal(0, pipe.Writers);
    }

    [Fact]
    public void InstallAtReplacesAndReleasesPreviousFile()
    {
        var p1 = new Pipe();
        var p2 = new Pipe();
        var t = new FdTable();
        t.InstallNew(NewEnd(p1, OpenFlags.O_WRONLY), false);
        t.InstallNew(NewEnd(p2, OpenFlags.O_WRONLY), true);
        Assert.Equal(0, t.InstallAt(0, t.Get(1)!, false));
        Assert.Equal(0, p1.Writers);
        Assert.Equal(1, p2.Writers);
        Assert.Same(t.Get(0), t.Get(1));
        t.Get(0, out bool cloexec);
        Assert.False(cloexec);
    }
}
