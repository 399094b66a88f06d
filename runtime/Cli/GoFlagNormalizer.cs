using System.Reflection;
using CommandLine;

namespace RunscNet.Runtime.Cli;

/// <summary>The outcome of reading the flags before the command name.</summary>
public sealed record GlobalParseResult(GlobalOptions Options, string? Command, string[] CommandArguments,
    bool ShowVersion, bool ShowHelp);

/// <summary>
/// The one reader of Go-style command lines, as runc's and runsc's callers (podman, conmon,
/// containerd) write them with Go's flag package: <c>-flag</c> or <c>--flag</c>, <c>--flag=value</c>
/// or <c>--flag value</c>, booleans as <c>--flag</c> or <c>--flag=true|false</c>. It splits the
/// global flags (before the command name, read here into <see cref="GlobalOptions"/>) from the
/// command's own, which it rewrites into what CommandLineParser reads (<see cref="NormalizeVerb"/>).
/// </summary>
public static class GoFlagNormalizer
{
    private static readonly HashSet<string> GlobalBooleanFlags = new(StringComparer.Ordinal)
    {
        "debug", "systemd-cgroup", "strace", "version", "v", "help", "h",
        // runc flags callers may pass that have no meaning for us.
        "no-pivot", "rootless",
    };

    private static readonly HashSet<string> GlobalValueFlags = new(StringComparer.Ordinal)
    {
        "root", "log", "log-format", "debug-log", "network", "platform", "overlay", "host-uds", "criu",
    };

    /// <summary>
    /// Reads the global flags of <paramref name="args"/> up to the first non-flag (the command);
    /// throws <see cref="RuntimeError"/> for a bad or unknown flag.
    /// </summary>
    public static GlobalParseResult ParseGlobal(string[] args)
    {
        var options = new GlobalOptions();
        bool version = false, help = false;
        int i = 0;
        for (; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--") { i++; break; }
            if (arg.Length < 2 || arg[0] != '-') break;
            var (name, value) = SplitValue(arg.TrimStart('-'));

            if (GlobalBooleanFlags.Contains(name))
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
            if (!GlobalValueFlags.Contains(name)) throw new RuntimeError($"unknown global flag {arg} (see runsc-net --help)");
            if (value == null)
            {
                if (i + 1 >= args.Length) throw new RuntimeError($"flag --{name} needs a value");
                value = args[++i];
            }
            SetGlobalValue(options, name, value);
        }
        string? command = i < args.Length ? args[i] : null;
        string[] rest = i + 1 < args.Length ? args[(i + 1)..] : [];
        return new GlobalParseResult(options, command, rest, version, help);
    }

    private static void SetGlobalValue(GlobalOptions options, string name, string value)
    {
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

    /// <summary>
    /// Rewrites a command's arguments for CommandLineParser and the verb class
    /// <paramref name="verbType"/>: <c>-bundle</c> → <c>--bundle</c>, <c>--detach=true</c> →
    /// <c>--detach</c>, <c>--detach=false</c> dropped, and option parsing stops at the first
    /// positional argument (so <c>exec ID sh -c 'x'</c> keeps <c>-c</c> as an argument of sh).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070",
        Justification = "Command classes live in the runsc-net assembly, which is rooted for NativeAOT (Runtime.csproj).")]
    public static string[] NormalizeVerb(Type verbType, string[] args)
    {
        var longNames = new Dictionary<string, bool>(StringComparer.Ordinal); // name -> is switch
        var shortNames = new Dictionary<string, (string Long, bool IsSwitch)>(StringComparer.Ordinal);
        foreach (PropertyInfo property in verbType.GetProperties())
        {
            var option = property.GetCustomAttribute<OptionAttribute>();
            if (option == null) continue;
            bool isSwitch = property.PropertyType == typeof(bool);
            if (!string.IsNullOrEmpty(option.LongName)) longNames[option.LongName] = isSwitch;
            if (!string.IsNullOrEmpty(option.ShortName)) shortNames[option.ShortName] = (option.LongName, isSwitch);
        }

        var result = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                result.AddRange(args[i..]);
                return result.ToArray();
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                result.Add("--");
                result.AddRange(args[i..]);
                return result.ToArray();
            }
            bool doubleDash = arg.StartsWith("--", StringComparison.Ordinal);
            var (name, value) = SplitValue(arg[(doubleDash ? 2 : 1)..]);

            string? longName = null;
            bool isSwitch = false;
            if (longNames.TryGetValue(name, out bool sw)) { longName = name; isSwitch = sw; }
            else if (!doubleDash && shortNames.TryGetValue(name, out var shortOption))
            {
                longName = shortOption.Long;
                isSwitch = shortOption.IsSwitch;
            }
            if (longName == null)
            {
                result.Add(arg); // unknown: CommandLineParser reports it
                continue;
            }
            if (isSwitch)
            {
                // A repeated switch (podman passes --leave-running twice with -R) counts once.
                if ((value == null || ParseBool(longName, value)) && !result.Contains("--" + longName))
                    result.Add("--" + longName);
                continue;
            }
            result.Add("--" + longName);
            if (value != null) result.Add(value);
            else if (i + 1 < args.Length) result.Add(args[++i]);
        }
        return result.ToArray();
    }

    /// <summary>Splits <c>name=value</c> (the flag without its dashes); value is null without '='.</summary>
    private static (string Name, string? Value) SplitValue(string body)
    {
        int eq = body.IndexOf('=');
        return eq >= 0 ? (body[..eq], body[(eq + 1)..]) : (body, null);
    }

    /// <summary>A boolean as Go's strconv.ParseBool reads it.</summary>
    private static bool ParseBool(string name, string value) => value switch
    {
        "true" or "1" or "t" or "T" or "TRUE" or "True" => true,
        "false" or "0" or "f" or "F" or "FALSE" or "False" => false,
        _ => throw new RuntimeError($"invalid boolean value {value} for --{name}"),
    };

    private static string RequireNonEmpty(string name, string value)
        => value.Length == 0 ? throw new RuntimeError($"flag --{name} needs a value") : value;
}
