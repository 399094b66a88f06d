using System.Collections.Concurrent;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// Counts, per program (the task's comm) and system-call number, the calls the Sentry answered
/// with ENOSYS because its table has no handler (`runsc-net debug ID --unimplemented`).
/// </summary>
internal sealed class UnimplementedCalls
{
    private readonly ConcurrentDictionary<(string Program, long Number), long> _counts = new();

    /// <summary>Counts one call of <paramref name="nr"/> by <paramref name="program"/>.</summary>
    public void Record(string program, long nr) => _counts.AddOrUpdate((program, nr), 1, static (_, n) => n + 1);

    /// <summary>Every (program, number, count), by program then number.</summary>
    public IReadOnlyList<(string Program, long Number, long Count)> Snapshot() =>
        _counts.Select(kv => (kv.Key.Program, kv.Key.Number, kv.Value))
            .OrderBy(e => e.Program, StringComparer.Ordinal).ThenBy(e => e.Number).ToList();
}
