namespace RunscNet.Runtime.Cli;

/// <summary>
/// Turns the SIGNAL argument of <c>kill</c> into a number: a name with or without "SIG" in any case
/// (TERM, SIGKILL, sigusr1), a real-time signal (RTMIN, RTMIN+3, SIGRTMAX-1) or a number 1-64.
/// </summary>
public static class SignalParser
{
    private const int RtMin = 34;
    private const int RtMax = 64;

    private static readonly Dictionary<string, int> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["IOT"] = 6,
        ["BUS"] = 7, ["FPE"] = 8, ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12,
        ["PIPE"] = 13, ["ALRM"] = 14, ["TERM"] = 15, ["STKFLT"] = 16, ["CHLD"] = 17, ["CLD"] = 17,
        ["CONT"] = 18, ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21, ["TTOU"] = 22, ["URG"] = 23,
        ["XCPU"] = 24, ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27, ["WINCH"] = 28, ["IO"] = 29,
        ["POLL"] = 29, ["PWR"] = 30, ["SYS"] = 31,
    };

    /// <summary>Parses <paramref name="text"/>; throws <see cref="RuntimeError"/> if it names no signal.</summary>
    public static int Parse(string text)
    {
        if (TryParse(text, out int signal)) return signal;
        throw new RuntimeError($"invalid signal {text}");
    }

    /// <summary>Parses <paramref name="text"/> into <paramref name="signal"/>; false if it names no signal.</summary>
    public static bool TryParse(string text, out int signal)
    {
        signal = 0;
        string s = text.Trim();
        if (s.Length == 0) return false;
        if (int.TryParse(s, System.Globalization.NumberStyles.None, null, out int number))
        {
            if (number is < 1 or > RtMax) return false;
            signal = number;
            return true;
        }
        if (s.StartsWith("SIG", StringComparison.OrdinalIgnoreCase)) s = s[3..];
        if (Names.TryGetValue(s, out signal)) return true;
        return TryParseRealTime(s, out signal);
    }

    /// <summary>The conventional name of <paramref name="signal"/> ("SIGTERM"), or its number.</summary>
    public static string Name(int signal)
    {
        foreach (var (name, value) in Names)
        {
            if (value == signal && name is not ("IOT" or "CLD" or "POLL")) return "SIG" + name;
        }
        return signal.ToString();
    }

    private static bool TryParseRealTime(string s, out int signal)
    {
        signal = 0;
        int baseValue;
        string rest;
        if (s.StartsWith("RTMIN", StringComparison.OrdinalIgnoreCase)) { baseValue = RtMin; rest = s[5..]; }
        else if (s.StartsWith("RTMAX", StringComparison.OrdinalIgnoreCase)) { baseValue = RtMax; rest = s[5..]; }
        else return false;
        int offset = 0;
        if (rest.Length > 0)
        {
            if (rest[0] is not ('+' or '-') || !int.TryParse(rest[1..], System.Globalization.NumberStyles.None, null, out offset))
                return false;
            if (rest[0] == '-') offset = -offset;
        }
        int value = baseValue + offset;
        if (value is < RtMin or > RtMax) return false;
        signal = value;
        return true;
    }
}
