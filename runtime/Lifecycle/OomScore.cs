namespace RunscNet.Runtime.Lifecycle;

/// <summary>Writes a host process's /proc/PID/oom_score_adj (proc(5)).</summary>
internal static class OomScore
{
    /// <summary>Sets <paramref name="pid"/>'s oom_score_adj; a failure is an error (the spec asked for it).</summary>
    public static void Set(int pid, int value)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/oom_score_adj", value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuntimeError($"setting oom_score_adj {value} of sandbox process {pid}: {e.Message}");
        }
    }
}
