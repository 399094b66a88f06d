using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>fd duplication for the boot code.</summary>
internal static partial class Fcntl
{
    private const int F_DUPFD_CLOEXEC = 1030;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlInt(int fd, int cmd, int arg);

    /// <summary>A close-on-exec duplicate of <paramref name="fd"/> (≥ 3), or -1.</summary>
    public static int Dup(int fd) => FcntlInt(fd, F_DUPFD_CLOEXEC, 3);
}
