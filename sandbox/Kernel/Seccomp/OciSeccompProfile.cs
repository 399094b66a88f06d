using System.Text.Json;

namespace RunscNet.Sentry.Kernel.Seccomp;

/// <summary>
/// The spec's <c>linux.seccomp</c> profile as a filter of the container's processes, with the
/// meaning runc gives it through libseccomp: the first rule whose name and argument conditions
/// match decides, otherwise <c>defaultAction</c>; names unknown on x86-64 are skipped (runc
/// ignores them); SCMP_ACT_ERRNO and SCMP_ACT_TRACE default to EPERM; and, as runc's -ENOSYS
/// stub does, when the default action is not permissive, a call numbered above every call the
/// profile names returns ENOSYS (so a program probes new calls as on an older kernel instead of
/// being killed or told EPERM). Evaluated directly rather than compiled to BPF: one lookup by
/// number, then the rules of that call.
/// </summary>
public sealed class OciSeccompProfile : ISeccompFilter
{
    private readonly uint _default;
    private readonly Dictionary<int, Rule[]> _rules;
    private readonly int _enosysAbove;

    /// <inheritdoc/>
    public int Length { get; }

    /// <inheritdoc/>
    public bool Log { get; }

    private enum Op { NotEqual, Less, LessOrEqual, Equal, GreaterOrEqual, Greater, MaskedEqual }

    private readonly record struct Condition(int Index, ulong Value, ulong ValueTwo, Op Op);

    private sealed record Rule(Condition[] Conditions, uint Action);

    private OciSeccompProfile(uint defaultAction, Dictionary<int, Rule[]> rules, int enosysAbove, int length, bool log)
    {
        _default = defaultAction; _rules = rules; _enosysAbove = enosysAbove; Length = length; Log = log;
    }

    /// <summary>
    /// Reads a profile; throws <see cref="FormatException"/> with a one-line message for what
    /// runc would refuse or what cannot be honoured here (SCMP_ACT_NOTIFY, unknown flags).
    /// </summary>
    public static OciSeccompProfile Parse(JsonElement profile)
    {
        if (profile.ValueKind != JsonValueKind.Object) throw new FormatException("linux.seccomp must be an object");
        uint defaultErrno = profile.TryGetProperty("defaultErrnoRet", out var de) && de.ValueKind == JsonValueKind.Number
            ? ReadErrno(de, "defaultErrnoRet") : Errno.EPERM;
        if (!profile.TryGetProperty("defaultAction", out var da) || da.ValueKind != JsonValueKind.String)
            throw new FormatException("linux.seccomp.defaultAction is missing");
        uint defaultAction = ActionOf(da.GetString()!, defaultErrno, "defaultAction");
        bool log = false;
        if (profile.TryGetProperty("flags", out var flags) && flags.ValueKind == JsonValueKind.Array)
            foreach (var f in flags.EnumerateArray())
                switch (f.GetString())
                {
                    case "SECCOMP_FILTER_FLAG_LOG": log = true; break;
                    case "SECCOMP_FILTER_FLAG_TSYNC": case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": break;
                    default: throw new FormatException($"linux.seccomp.flags: {f} is not supported");
                }
        if (profile.TryGetProperty("architectures", out var arches) && arches.ValueKind == JsonValueKind.Array)
            foreach (var a in arches.EnumerateArray())
                if (a.GetString() is not string s || !s.StartsWith("SCMP_ARCH_", StringComparison.Ordinal))
                    throw new FormatException($"linux.seccomp.architectures: unknown architecture {a}");

        var byNumber = new Dictionary<int, List<Rule>>();
        var numbers = X86SyscallNames.All.ToDictionary(e => e.Name, e => e.Number, StringComparer.Ordinal);
        int highestNamed = -1, length = 0;
        if (profile.TryGetProperty("syscalls", out var syscalls) && syscalls.ValueKind == JsonValueKind.Array)
        {
            foreach (var sc in syscalls.EnumerateArray())
            {
                if (!sc.TryGetProperty("action", out var act) || act.ValueKind != JsonValueKind.String)
                    throw new FormatException("linux.seccomp.syscalls: a rule has no action");
                uint errno = sc.TryGetProperty("errnoRet", out var er) && er.ValueKind == JsonValueKind.Number ? ReadErrno(er, "errnoRet") : Errno.EPERM;
                uint action = ActionOf(act.GetString()!, errno, "syscalls action");
                var conditions = new List<Condition>();
                if (sc.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Array)
                    foreach (var arg in args.EnumerateArray()) conditions.Add(ReadCondition(arg));
                var rule = new Rule(conditions.ToArray(), action);
                if (!sc.TryGetProperty("names", out var names) || names.ValueKind != JsonValueKind.Array)
                    throw new FormatException("linux.seccomp.syscalls: a rule has no names");
                foreach (var name in names.EnumerateArray())
                {
                    if (name.GetString() is not string s || !numbers.TryGetValue(s, out int nr)) continue;   // unknown here: runc skips it
                    if (!byNumber.TryGetValue(nr, out var list)) byNumber[nr] = list = new List<Rule>();
                    list.Add(rule);
                    highestNamed = Math.Max(highestNamed, nr);
                    length += 1 + conditions.Count;
                }
            }
        }
        bool permissive = SeccompAction.ActionOf(defaultAction) is SeccompAction.Allow or SeccompAction.Log;
        return new OciSeccompProfile(defaultAction, byNumber.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()),
            permissive ? int.MaxValue : highestNamed, Math.Max(1, length), log);
    }

    private static uint ReadErrno(JsonElement e, string field)
    {
        if (!e.TryGetUInt32(out uint v) || v > 4095) throw new FormatException($"linux.seccomp.{field}: {e} is not an errno");
        return v;
    }

    private static uint ActionOf(string name, uint errno, string field) => name switch
    {
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => SeccompAction.KillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompAction.KillProcess,
        "SCMP_ACT_TRAP" => SeccompAction.Trap,
        "SCMP_ACT_ERRNO" => SeccompAction.Errno | errno,
        "SCMP_ACT_TRACE" => SeccompAction.Trace | errno,
        "SCMP_ACT_ALLOW" => SeccompAction.Allow,
        "SCMP_ACT_LOG" => SeccompAction.Log,
        "SCMP_ACT_NOTIFY" => throw new FormatException($"linux.seccomp {field} SCMP_ACT_NOTIFY: seccomp user notification is not supported"),
        _ => throw new FormatException($"linux.seccomp {field}: unknown action {name}"),
    };

    private static Condition ReadCondition(JsonElement arg)
    {
        if (!arg.TryGetProperty("index", out var ix) || !ix.TryGetInt32(out int index) || index is < 0 or > 5)
            throw new FormatException("linux.seccomp.syscalls args: index must be 0-5");
        ulong value = arg.TryGetProperty("value", out var v) && v.TryGetUInt64(out ulong vv) ? vv : 0;
        ulong two = arg.TryGetProperty("valueTwo", out var v2) && v2.TryGetUInt64(out ulong vv2) ? vv2 : 0;
        string op = arg.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : "";
        return new Condition(index, value, two, op switch
        {
            "SCMP_CMP_NE" => Op.NotEqual,
            "SCMP_CMP_LT" => Op.Less,
            "SCMP_CMP_LE" => Op.LessOrEqual,
            "SCMP_CMP_EQ" => Op.Equal,
            "SCMP_CMP_GE" => Op.GreaterOrEqual,
            "SCMP_CMP_GT" => Op.Greater,
            "SCMP_CMP_MASKED_EQ" => Op.MaskedEqual,
            _ => throw new FormatException($"linux.seccomp.syscalls args: unknown op {op}"),
        });
    }

    /// <inheritdoc/>
    public uint Evaluate(in SeccompData data)
    {
        if (_rules.TryGetValue(data.Nr, out var rules))
            foreach (var rule in rules)
                if (Matches(rule.Conditions, data)) return rule.Action;
        if (data.Nr > _enosysAbove) return SeccompAction.Errno | Errno.ENOSYS;
        return _default;
    }

    private static bool Matches(Condition[] conditions, in SeccompData data)
    {
        foreach (var c in conditions)
        {
            ulong a = data.Arg(c.Index);
            bool ok = c.Op switch
            {
                Op.NotEqual => a != c.Value,
                Op.Less => a < c.Value,
                Op.LessOrEqual => a <= c.Value,
                Op.Equal => a == c.Value,
                Op.GreaterOrEqual => a >= c.Value,
                Op.Greater => a > c.Value,
                _ => (a & c.Value) == c.ValueTwo,
            };
            if (!ok) return false;
        }
        return true;
    }
}
