using System.Reflection;
using CommandLine;

namespace RunscNet.Runtime.Cli;

/// <summary>
/// Rewrites a command's arguments from Go flag conventions (what callers of runc use) into what
/// CommandLineParser reads: <c>-bundle</c> → <c>--bundle</c>, <c>--detach=true</c> → <c>--detach</c>,
/// <c>--detach=false</c> dropped, and option parsing stops at the first positional argument
/// (so <c>exec ID sh -c 'x'</c> keeps <c>-c</c> as an argument of sh).
/// </summary>
public static class VerbArgumentNormalizer
{
    /// <summary>Normalizes <paramref name="args"/> for the verb class <paramref name="verbType"/>.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070",
        Justification = "Command classes live in the runsc-net assembly, which is rooted for NativeAOT (Runtime.csproj).")]
    public static string[] Normalize(Type verbType, string[] args)
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
            string body = arg[(doubleDash ? 2 : 1)..];
            string name = body;
            string? value = null;
            int eq = body.IndexOf('=');
            if (eq >= 0) { name = body[..eq]; value = body[(eq + 1)..]; }

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
                if (value == null || value is "true" or "1" or "t" or "T" or "TRUE" or "True")
                {
                    if (!result.Contains("--" + longName)) result.Add("--" + longName);
                }
                else if (value is not ("false" or "0" or "f" or "F" or "FALSE" or "False"))
                    throw new RuntimeError($"invalid boolean value {value} for --{longName}");
                continue;
            }
            result.Add("--" + longName);
            if (value != null) result.Add(value);
            else if (i + 1 < args.Length) result.Add(args[++i]);
        }
        return result.ToArray();
    }
}
