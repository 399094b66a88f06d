using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Sentry.Interop;

/// <summary>fd duplication for the boot code.</summary>
internal static class Fcntl
{
    private const int F_DUPFD_CLOEXEC = 1030;

    /// <summary>A close-on-exec duplicate of <paramref name="fd"/> (≥ 3), or -1.</summary>
    public static int Dup(int fd) => LibC.fcntl(fd, F_DUPFD_CLOEXEC, 3);
}
