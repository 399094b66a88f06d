namespace RunscNet.Sentry.Kernel.Seccomp;

/// <summary>
/// A task's seccomp mode and filters (seccomp(2)): immutable, so fork, clone and execve share
/// the parent's object and an installed filter can never be removed, only joined by more.
/// </summary>
internal sealed class SeccompState
{
    /// <summary>SECCOMP_MODE_DISABLED, STRICT, FILTER (the Seccomp: line of /proc/PID/status).</summary>
    public const int ModeDisabled = 0, ModeStrict = 1, ModeFilter = 2;

    /// <summary>Linux's MAX_INSNS_PER_PATH: instructions of all filters of a task, 4 extra per filter.</summary>
    public const int MaxInstructionsPerPath = (1 << 18) / 8;

    /// <summary>No seccomp.</summary>
    public static readonly SeccompState None = new(ModeDisabled, []);

    /// <summary>Strict mode: read, write, exit and rt_sigreturn only.</summary>
    public static readonly SeccompState Strict = new(ModeStrict, []);

    /// <summary>The mode.</summary>
    public int Mode { get; }

    /// <summary>The filters, newest first.</summary>
    public ISeccompFilter[] Filters { get; }

    /// <summary>True when a filter asked for SECCOMP_FILTER_FLAG_LOG (decided once, not per call).</summary>
    public bool Log { get; }

    private SeccompState(int mode, ISeccompFilter[] filters)
    {
        Mode = mode;
        Filters = filters;
        Log = filters.Any(f => f.Log);
    }

    /// <summary>This state with <paramref name="filter"/> added; null (ENOMEM) past the instruction budget.</summary>
    public SeccompState? With(ISeccompFilter filter)
    {
        int total = filter.Length + 4;
        foreach (var f in Filters) total += f.Length + 4;
        if (total > MaxInstructionsPerPath) return null;
        return new SeccompState(ModeFilter, [filter, .. Filters]);
    }

    /// <summary>The decision for one call: every filter runs, the highest-precedence action wins.</summary>
    public uint Evaluate(in SeccompData data)
    {
        if (Mode == ModeStrict)
            return data.Nr is 0 or 1 or 60 or 15 ? SeccompAction.Allow : SeccompAction.KillThread;   // read write exit rt_sigreturn
        uint result = SeccompAction.Allow;
        foreach (var f in Filters)
        {
            uint r = f.Evaluate(data);
            if (SeccompAction.Precedes(r, result)) result = r;
        }
        return result;
    }
}
