namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// The CPU features the application could see (the "flags" of /proc/cpuinfo), recorded in an
/// image so a restore on a CPU that lacks one of them is refused: a program that probed CPUID
/// at start (glibc's string functions, a JIT) would otherwise die of SIGILL later.
/// </summary>
public static class CpuFeatures
{
    /// <summary>The host's features, space-separated and sorted; empty when /proc/cpuinfo cannot be read.</summary>
    public static string Host()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (!line.StartsWith("flags", StringComparison.Ordinal)) continue;
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                return string.Join(' ', line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return "";
    }

    /// <summary>The features of <paramref name="saved"/> that <paramref name="host"/> lacks (none when either is unknown).</summary>
    public static IReadOnlyList<string> Missing(string saved, string host)
    {
        if (saved.Length == 0 || host.Length == 0) return [];
        var have = new HashSet<string>(host.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        return saved.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(f => !have.Contains(f)).ToList();
    }
}
