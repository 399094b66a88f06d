namespace RunscNet.Sentry.Kernel;

/// <summary>The CPUs the sandbox shows: 0 .. N-1 (N the host CPUs the Sentry may use).</summary>
internal static class CpuSet
{
    /// <summary>nr_cpu_ids: the number of CPUs.</summary>
    public static int Count { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>cpumask_size(): bytes of a mask, whole longs.</summary>
    public static int MaskBytes => (Count + 63) / 64 * 8;

    /// <summary>A mask with every CPU set.</summary>
    public static ulong[] All()
    {
        var m = new ulong[MaskBytes / 8];
        for (int i = 0; i < Count; i++) m[i / 64] |= 1UL << (i % 64);
        return m;
    }

    /// <summary>The kernel's list format ("0-3,6").</summary>
    public static string ToList(ulong[] mask)
    {
        var parts = new List<string>();
        for (int i = 0; i < Count; i++)
        {
            if (!IsSet(mask, i)) continue;
            int j = i;
            while (j + 1 < Count && IsSet(mask, j + 1)) j++;
            parts.Add(i == j ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{i}-{j}");
            i = j;
        }
        return string.Join(',', parts);
    }

    /// <summary>The kernel's bitmap format: hex digits for the CPUs, in groups of 8 separated by commas ("3", "ff,ffffffff").</summary>
    public static string ToHex(ulong[] mask)
    {
        var sb = new System.Text.StringBuilder();
        int digits = (Count + 3) / 4;
        for (int d = digits - 1; d >= 0; d--)
        {
            int nibble = (int)((mask[d * 4 / 64] >> (d * 4 % 64)) & 0xf);
            sb.Append("0123456789abcdef"[nibble]);
            if (d > 0 && d % 8 == 0) sb.Append(',');
        }
        return sb.ToString();
    }

    private static bool IsSet(ulong[] mask, int cpu) => (mask[cpu / 64] & (1UL << (cpu % 64))) != 0;
}

internal sealed partial class Task
{
    /// <summary>
    /// The CPUs this thread may run on (sched_setaffinity(2)), <see cref="CpuSet.MaskBytes"/> long;
    /// inherited by clone. The host scheduler is not told.
    /// </summary>
    public ulong[] CpuAffinity { get; set; } = CpuSet.All();
}
