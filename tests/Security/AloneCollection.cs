using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Tests that load both CPUs for minutes (the syscall fuzzer in CI's long mode) run alone, after
/// the parallel ones: next to them, probes that compare timer values with a native run would
/// measure the load instead of the Sentry.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "alone";
}
