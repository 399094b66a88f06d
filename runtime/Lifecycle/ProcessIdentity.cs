namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Tells whether a recorded host process is still the one we started: same pid, same start time
/// (field 22 of /proc/PID/stat, in clock ticks since boot), and not a zombie. A pid reused by
/// an unrelated process has another start time.
/// </summary>
public static class ProcessIdentity
{
    /// <summary>Start time of <paramref name="pid"/>, or null if there is no such process.</summary>
    public static ulong? StartTime(int pid) => ReadStat(pid) is { } stat ? stat.StartTime : null;

    /// <summary>True if <paramref name="pid"/> runs, is not a zombie, and started at <paramref name="startTime"/> (0: not checked).</summary>
    public static bool IsAlive(int pid, ulong startTime)
    {
        if (pid <= 0) return false;
        if (ReadStat(pid) is not { } stat) return false;
        if (stat.State is 'Z' or 'X' or 'x') return false;
        return startTime == 0 || stat.StartTime == startTime;
    }

    /// <summary>Parses the state letter and start time out of /proc/PID/stat.</summary>
    public static (char State, ulong StartTime)? ParseStat(string stat)
    {
        // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split after the last ')'.
        int close = stat.LastIndexOf(')');
        if (close < 0) return null;
        string[] fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        if (fields.Length < 20 || fields[0].Length != 1) return null;
        if (!ulong.TryParse(fields[19], out ulong start)) return null;
        return (fields[0][0], start);
    }

    private static (char State, ulong StartTime)? ReadStat(int pid)
    {
        try
        {
            return ParseStat(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
