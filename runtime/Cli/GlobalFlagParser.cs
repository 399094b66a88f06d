namespace RunscNet.Runtime.Cli;

/// <summary>The outcome of reading the flags before the command name.</summary>
public sealed record GlobalParseResult(GlobalOptions Options, string? Command, string[] CommandArguments,
    bool ShowVersion, bool ShowHelp);

/// <summary>
/// Reads the global flags that precede the command, as Go's flag package does for runc and runsc:
/// <c>-flag</c> or <c>--flag</c>, <c>--flag=value</c> or <c>--flag value</c>, booleans as
/// <c>--flag</c> or <c>--flag=true|false</c>; parsing stops at the first non-flag (the command).
/// </summary>
public static class GlobalFlagParser
{
    private static readonly HashSet<string> BooleanFlags = new(StringComparer.Ordinal)
    {
        "debug", "systemd-cgroup", "strace", "version", "v", "help", "h",
        // runc flags callers may pass that have no meaning for us.
        "no-pivot", "rootless",
    };

    private static readonly HashSet<string> ValueFlags = new(StringComparer.Ordinal)
    {
        "root", "log", "log-format", "debug-log", "network", "platform", "overlay", "host-uds", "criu",
    };

    /// <summary>Parses <paramref name="args"/>; throws <see cref="RuntimeError"/> for a bad or unknown flag.</summary>
    public static GlobalParseResult Parse(string[] args)
    {
        var options = new GlobalOptions();
        bool version = false, help = false;
        int i = 0;
        for (; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--") { i++; break; }
            if (arg.Length < 2 || arg[0] != '-') break;
            string body = arg.TrimStart('-');
            string name = body;
            string? value = null;
            int eq = body.IndexOf('=');
            if (eq >= 0) { name = body[..eq]; value = body[(eq + 1)..]; }

            if (BooleanFlags.Contains(name))
            {
                bool on = value == null || ParseBool(name, value);
                switch (name)
                {
                    case "debug": options.Debug = on; break;
                    case "systemd-cgroup": options.SystemdCgroup = on; break;
                    case "strace": options.Strace = on; break;
                    case "version" or "v": version = on; break;
                    case "help" or "h": help = on; break;
                }
                continue;
            }
            if (!ValueFlags.Contains(name)) throw new RuntimeError($"unknown global flag {arg} (see runsc-net --help)");
            if (value == null)
            {
                if (i + 1 >= args.Length) throw new RuntimeError($"flag --{name} needs a value");
                value = args[++i];
            }
            switch (name)
            {
                case "root": options.Root = RequireNonEmpty(name, value); break;
                case "log": options.LogFile = value.Length == 0 ? null : value; break;
                case "log-format":
                    options.LogFormat = value switch
                    {
                        "text" => LogFormat.Text,
                        "json" => LogFormat.Json,
                        _ => throw new RuntimeError($"invalid --log-format {value}: use text or json"),
                    };
                    break;
                case "debug-log": options.DebugLog = value.Length == 0 ? null : value; break;
                case "network":
                    if (value is not ("sandbox" or "none" or "host"))
                        throw new RuntimeError($"invalid --network {value}: use sandbox, none or host");
                    options.Network = value;
                    break;
                case "platform":
                    if (value is not ("ptrace" or "systrap"))
                        throw new RuntimeError($"invalid --platform {value}: use ptrace or systrap");
                    options.Platform = value;
                    break;
                case "overlay":
                    if (value is not ("none" or "memory"))
                        throw new RuntimeError($"invalid --overlay {value}: use none or memory");
                    options.Overlay = value;
                    break;
                case "host-uds":
                    if (value is not ("none" or "open" or "create" or "all"))
                        throw new RuntimeError($"invalid --host-uds {value}: use none, open, create or all");
                    options.HostUds = value;
                    break;
                case "criu": break; // runc compatibility; checkpoints are our own
            }
        }
        string? command = i < args.Length ? args[i] : null;
        string[] rest = i + 1 < args.Length ? args[(i + 1)..] : [];
        return new GlobalParseResult(options, command, rest, version, help);
    }

    private static bool ParseBool(string name, string value) => value switch
    {
        "true" or "1" or "t" or "T" or "TRUE" or "True" => true,
        "false" or "0" or "f" or "F" or "FALSE" or "False" => false,
        _ => throw new RuntimeError($"invalid boolean value {value} for --{name}"),
    };

    private static string RequireNonEmpty(string name, string value)
        => value.Length == 0 ? throw new RuntimeError($"flag --{name} needs a value") : value;
}
