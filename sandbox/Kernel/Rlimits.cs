namespace RunscNet.Sentry.Kernel;

/// <summary>The resource limits of a process (getrlimit(2)); copied by fork, kept by exec.</summary>
public sealed class Rlimits
{
    /// <summary>RLIM_INFINITY.</summary>
    public const ulong Infinity = ulong.MaxValue;

    public const int CPU = 0, FSIZE = 1, DATA = 2, STACK = 3, CORE = 4, RSS = 5, NPROC = 6, NOFILE = 7,
        MEMLOCK = 8, AS = 9, LOCKS = 10, SIGPENDING = 11, MSGQUEUE = 12, NICE = 13, RTPRIO = 14, RTTIME = 15;

    /// <summary>Number of limits.</summary>
    public const int Count = 16;

    private readonly (ulong Cur, ulong Max)[] _limits = new (ulong, ulong)[Count];

    /// <summary>Linux's defaults for a new init.</summary>
    public Rlimits()
    {
        for (int i = 0; i < Count; i++) _limits[i] = (Infinity, Infinity);
        _limits[STACK] = (8 << 20, Infinity);
        _limits[CORE] = (0, Infinity);
        _limits[NOFILE] = (1024, 1024 * 1024);
        _limits[MEMLOCK] = (8 << 20, 8 << 20);
        _limits[SIGPENDING] = (63_000, 63_000);
        _limits[MSGQUEUE] = (819_200, 819_200);
        _limits[NPROC] = (63_000, 63_000);
        _limits[NICE] = (0, 0);
        _limits[RTPRIO] = (0, 0);
    }

    /// <summary>
    /// The limits the boot process has, which it inherited from whoever ran the runtime: what a
    /// container's init gets under runc before the spec's rlimits apply (Linux's defaults for a
    /// limit the host cannot tell).
    /// </summary>
    public static unsafe Rlimits FromHost()
    {
        var limits = new Rlimits();
        ulong* pair = stackalloc ulong[2];
        for (int i = 0; i < Count; i++)
        {
            if (Interop.HostLimits.getrlimit(i, pair) == 0) limits._limits[i] = (pair[0], pair[1]);
        }
        return limits;
    }

    /// <summary>The rows of /proc/PID/limits: name, unit, in resource order.</summary>
    private static readonly (string Name, string Unit)[] s_procRows =
    [
        ("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"),
        ("Max stack size", "bytes"), ("Max core file size", "bytes"), ("Max resident set", "bytes"),
        ("Max processes", "processes"), ("Max open files", "files"), ("Max locked memory", "bytes"),
        ("Max address space", "bytes"), ("Max file locks", "locks"), ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"), ("Max nice priority", ""), ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];

    /// <summary>The text of /proc/PID/limits, laid out as Linux's proc_pid_limits.</summary>
    public string ProcText()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append($"{"Limit",-25} {"Soft Limit",-20} {"Hard Limit",-20} {"Units",-10}\n");
        for (int i = 0; i < Count; i++)
        {
            var (cur, max) = Get(i);
            string Value(ulong v) => v == Infinity ? "unlimited" : v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (name, unit) = s_procRows[i];
            sb.Append($"{name,-25} {Value(cur),-20} {Value(max),-20} ");
            sb.Append(unit.Length > 0 ? $"{unit,-10}\n" : "\n");
        }
        return sb.ToString();
    }

    /// <summary>Names used by the OCI spec ("RLIMIT_NOFILE") mapped to numbers.</summary>
    public static int FromName(string name) => name switch
    {
        "RLIMIT_CPU" => CPU, "RLIMIT_FSIZE" => FSIZE, "RLIMIT_DATA" => DATA, "RLIMIT_STACK" => STACK,
        "RLIMIT_CORE" => CORE, "RLIMIT_RSS" => RSS, "RLIMIT_NPROC" => NPROC, "RLIMIT_NOFILE" => NOFILE,
        "RLIMIT_MEMLOCK" => MEMLOCK, "RLIMIT_AS" => AS, "RLIMIT_LOCKS" => LOCKS, "RLIMIT_SIGPENDING" => SIGPENDING,
        "RLIMIT_MSGQUEUE" => MSGQUEUE, "RLIMIT_NICE" => NICE, "RLIMIT_RTPRIO" => RTPRIO, "RLIMIT_RTTIME" => RTTIME,
        _ => -1,
    };

    /// <summary>The (soft, hard) limit of <paramref name="resource"/>.</summary>
    public (ulong Cur, ulong Max) Get(int resource)
    {
        lock (_limits) return _limits[resource];
    }

    /// <summary>Sets a limit; returns 0, -EINVAL (soft above hard) or -EPERM (raising hard without CAP_SYS_RESOURCE).</summary>
    public int Set(int resource, ulong cur, ulong max, bool privileged)
    {
        if (cur > max) return -Errno.EINVAL;
        lock (_limits)
        {
            if (max > _limits[resource].Max && !privileged) return -Errno.EPERM;
            _limits[resource] = (cur, max);
        }
        return 0;
    }

    /// <summary>A copy (fork).</summary>
    public Rlimits Clone()
    {
        var c = new Rlimits();
        lock (_limits) _limits.CopyTo(c._limits, 0);
        return c;
    }
}
