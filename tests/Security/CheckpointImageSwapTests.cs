using RunscNet.StateFile.Checkpoint;
using RunscNet.Tests.StateFile;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Attack: whoever can write the image directory replaces the image file (or rewrites it in
/// place) between the runtime's check (hashes and HMAC, by path) and the Sentry's read (from
/// the fd the runtime opens afterwards). The runtime sends the verified SHA-256 root with the fd.
/// </summary>
public sealed class CheckpointImageSwapTests
{
    /// <summary>
    /// The Sentry's read is pinned to the image the runtime verified (its SHA-256 root, sent with
    /// the fd): another well-formed image put in its place after the check is refused.
    /// </summary>
    [Fact]
    public void TheSentrysReadRefusesAnImageOtherThanTheVerifiedOne()
    {
        byte[] verified = CheckpointImageTests.Sample(out _), swapped = CheckpointImageTests.Sample(out _, "c2");
        string digest = CheckpointImageTests.Read(verified).ImageDigestHex;
        Assert.Equal(64, digest.Length);
        Assert.NotEqual(digest, CheckpointImageTests.Read(swapped).ImageDigestHex);   // both are valid images
        var e = Assert.Throws<CheckpointImageException>(() =>
            ImageReader.Read(new MemoryStream(swapped), "img", verifyPages: false, expectedImageDigest: digest));
        Assert.Contains("not the one the runtime verified", e.Message);
        var same = ImageReader.Read(new MemoryStream(verified), "img", verifyPages: false, expectedImageDigest: digest.ToLowerInvariant());
        Assert.Equal(9, same.Graph.LastPid);
    }
}
