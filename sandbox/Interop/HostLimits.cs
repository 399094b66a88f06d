using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>The resource-limit and memory-size calls the Sentry makes about itself and its host.</summary>
internal static unsafe partial class HostLimits
{
    /// <summary>getrlimit(2): <paramref name="limit"/> receives (soft, hard).</summary>
    public static int getrlimit(int resource, ulong* limit) => LibcCalls.GetRlimit(resource, limit);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int statfs(string path, byte* buf);

    /// <summary>The f_type of the host file system at <paramref name="path"/> (statfs(2)), or -1.</summary>
    public static long FileSystemMagic(string path)
    {
        byte* buf = stackalloc byte[128];   // struct statfs is 120 bytes on x86-64; f_type comes first
        return statfs(path, buf) == 0 ? *(long*)buf : -1;
    }

    /// <summary>The host's total RAM in bytes (sysinfo(2) totalram × mem_unit), or -1.</summary>
    public static long TotalRam()
    {
        byte* info = stackalloc byte[128];   // struct sysinfo is 112 bytes on x86-64
        if (LibcCalls.SysInfo(info) != 0) return -1;
        ulong totalram = *(ulong*)(info + 32);   // after uptime and loads[3]
        uint unit = *(uint*)(info + 104);
        return (long)(totalram * (unit == 0 ? 1 : unit));
    }
}
