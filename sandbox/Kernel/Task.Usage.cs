using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// What a task's process has used of the host, read from its stub: the stub is the one host
/// process that runs exactly the application's code and holds exactly its memory, so its CPU
/// clock and its VmHWM are the application's (times(2), getrusage(2), /proc/PID/stat and status).
/// The kernel keeps this here, below the system calls, because exit, exec and the POSIX CPU
/// timers account with it as well.
/// </summary>
internal sealed partial class Task
{
    /// <summary>
    /// CPU time (ns) the process has used so far: its stub's, plus what a restored process had
    /// used before its checkpoint (<see cref="ThreadGroup.CpuNanosBase"/>).
    /// </summary>
    public long CpuNanos()
    {
        long before = ThreadGroup?.CpuNanosBase ?? 0;
        int pid = Context?.HostPid ?? 0;
        if (pid <= 0) return before;
        long n = HostTime.Nanos(HostTime.ProcessCpuClock(pid));
        return (n < 0 ? 0 : n) + before;
    }

    /// <summary>
    /// The peak resident set (kB) of the task's address space: the host's VmHWM of its stub;
    /// 0 when there is none.
    /// </summary>
    public long PeakRssKb()
    {
        int pid = Context?.HostPid ?? 0;
        if (pid <= 0) return 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                string kb = line[6..].Trim();
                if (kb.EndsWith(" kB", StringComparison.Ordinal)) kb = kb[..^3];
                return long.TryParse(kb, out long v) ? v : 0;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
