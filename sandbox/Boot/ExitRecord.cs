using System.Text;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// Records init's wait status when the sandbox ends by itself, so `wait` and `state` after the
/// fact can tell how it ended (nobody else is left to ask: the caller that started the container
/// may be gone). The runtime creates the container's exit record file (StateFile.ExitPath) and
/// hands it to boot open for writing (--exit-fd): boot runs as an unprivileged user and keeps no
/// fd of the state directory, so this one regular file is all it can write there.
/// </summary>
internal static class ExitRecord
{
    /// <summary>Writes <paramref name="status"/> as decimal text at the start of <paramref name="fd"/> (-1: none).</summary>
    public static unsafe void Save(int fd, int status, DebugLog log)
    {
        if (fd < 0) return;
        byte[] text = Encoding.ASCII.GetBytes(status.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
        fixed (byte* p = text)
        {
            long n = RawSyscall.Checked(18 /* pwrite64 */, fd, (long)p, text.Length, 0);
            if (n != text.Length) log.Write($"boot: exit status not recorded: {(n < 0 ? $"errno {-n}" : "short write")}");
        }
    }
}
