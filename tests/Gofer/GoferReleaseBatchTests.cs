using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>Handles queued with ReleaseLater (finalizers) go back to the gofer in batches, in one round trip.</summary>
public sealed class GoferReleaseBatchTests
{
    [Fact]
    public void QueuedHandlesAreReleasedInOneRoundTripOnFlush()
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "f"), "x");
        int before = h.ServerHandleCount;
        var handles = new List<ulong>();
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong handle, out _));
            handles.Add(handle);
        }
        Assert.Equal(before + 10, h.ServerHandleCount);
        foreach (ulong handle in handles) h.Client.ReleaseLater(handle);
        Assert.Equal(10, h.Client.PendingReleases);
        Assert.Equal(before + 10, h.ServerHandleCount);
        long trips = h.Client.RoundTrips;
        h.Client.FlushReleases();
        Assert.Equal(trips + 1, h.Client.RoundTrips);
        Assert.Equal(0, h.Client.PendingReleases);
        Assert.Equal(before, h.ServerHandleCount);
        Assert.Equal(-Errno.EBADF, h.Client.Stat(handles[3], out _));
    }

    [Fact]
    public void AFullBatchIsSentBeforeTheNextRequest()
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "f"), "x");
        int before = h.ServerHandleCount;
        for (int i = 0; i < GoferClient.ReleaseBatch; i++)
        {
            Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong handle, out _));
            h.Client.ReleaseLater(handle);
        }
        Assert.Equal(before + GoferClient.ReleaseBatch, h.ServerHandleCount);
        Assert.Equal(0, h.Client.Stat(h.RootHandle, out _));
        Assert.Equal(0, h.Client.PendingReleases);
        Assert.Equal(before, h.ServerHandleCount);
    }
}
