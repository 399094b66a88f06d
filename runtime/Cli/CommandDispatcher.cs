using CommandLine;
using CommandLine.Text;
using RunscNet.Runtime.Cli.Commands;
using RunscNet.Runtime.Logging;
using RunscNet.StateFile;

namespace RunscNet.Runtime.Cli;

/// <summary>
/// Entry of the command line: global flags, then one command parsed by CommandLineParser into its
/// <see cref="ICommand"/> class, run, and its errors reported as one line with exit code 1.
/// </summary>
public static class CommandDispatcher
{
    /// <summary>
    /// Every command class, user-facing and internal. The internal boot and gofer come first: every
    /// container start looks them up by name (reading each class's attribute on the way).
    /// </summary>
    public static readonly Type[] CommandTypes =
    [
        typeof(BootCommand), typeof(GoferCommand),
        typeof(CreateCommand), typeof(StartCommand), typeof(RunCommand), typeof(StateCommand),
        typeof(KillCommand), typeof(DeleteCommand), typeof(ListCommand), typeof(PsCommand),
        typeof(ExecCommand), typeof(PauseCommand), typeof(ResumeCommand), typeof(EventsCommand),
        typeof(WaitCommand), typeof(SpecCommand), typeof(CheckpointCommand), typeof(RestoreCommand),
        typeof(FeaturesCommand), typeof(UpdateCommand), typeof(SyscallsCommand), typeof(DebugCommand),
    ];

    /// <summary>Runs the command line <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        string commandName = "runsc-net";
        try
        {
            GlobalParseResult global = GoFlagNormalizer.ParseGlobal(args);
            if (global.ShowVersion)
            {
                RawStdio.Out.Write(RuntimeVersion.Text);
                return 0;
            }
            if (global.Command == null || global.ShowHelp)
            {
                RawStdio.Out.Write(HelpText());
                return global.Command == null && !global.ShowHelp ? 1 : 0;
            }
            commandName = global.Command;
            RuntimeLog.Configure(global.Options, commandName);
            RuntimeLog.Debug($"args: {string.Join(' ', args)}");
            var parsed = ParseCommand(global.Command, global.CommandArguments, out int exitCode);
            if (parsed == null) return exitCode;
            return parsed.Execute(new CommandContext(global.Options, commandName));
        }
        catch (RuntimeError e)
        {
            RuntimeLog.Error(e.Message);
            return e.ExitCode;
        }
        catch (StateFileException e)
        {
            RuntimeLog.Error(e.Message);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RuntimeLog.Error($"{commandName}: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Parses one command's arguments. Returns null when nothing is left to run (help or version
    /// was printed, or the arguments were wrong), with the exit code in <paramref name="exitCode"/>.
    /// </summary>
    public static ICommand? ParseCommand(string name, string[] arguments, out int exitCode)
    {
        exitCode = 0;
        Type? type = CommandTypes.FirstOrDefault(t => VerbName(t) == name);
        if (type == null)
        {
            if (name is "help") { RawStdio.Out.Write(HelpText()); return null; }
            throw new RuntimeError($"unknown command {name} (see runsc-net --help)");
        }
        if (arguments.Any(a => a is "--help" or "-h") && !arguments.TakeWhile(a => a != "--").Any(a => !a.StartsWith('-')))
        {
            RawStdio.Out.Write(CommandHelp(type, name));
            return null;
        }
        if (arguments.Length > 0 && arguments[0] is "--version" or "-v" && type != typeof(ExecCommand))
        {
            RawStdio.Out.Write(RuntimeVersion.Text);
            return null;
        }
        string[] normalized = GoFlagNormalizer.NormalizeVerb(type, arguments);
        using var parser = new Parser(s =>
        {
            s.HelpWriter = null;
            s.CaseSensitive = true;
            s.EnableDashDash = true;
            s.AllowMultiInstance = true;
            s.AutoHelp = false;
            s.AutoVersion = false;
        });
        // Only the named command's class: the parser reflects over every type it is given.
        ParserResult<object> result = parser.ParseArguments(Prepend(name, normalized), type);
        if (result is Parsed<object> { Value: ICommand command }) return command;
        var errors = ((NotParsed<object>)result).Errors.ToList();
        throw new RuntimeError($"{name}: {Describe(errors.FirstOrDefault())} (see runsc-net {name} --help)");
    }

    /// <summary>The verb name of a command class.</summary>
    public static string VerbName(Type type)
        => ((VerbAttribute)Attribute.GetCustomAttribute(type, typeof(VerbAttribute))!).Name;

    private static IEnumerable<string> Prepend(string first, string[] rest)
    {
        yield return first;
        foreach (string s in rest) yield return s;
    }

    private static string Describe(Error? error) => error switch
    {
        UnknownOptionError e => $"unknown flag {(e.Token.Length == 1 ? "-" : "--")}{e.Token}",
        MissingRequiredOptionError e => e.NameInfo.NameText.Length > 0
            ? $"missing --{e.NameInfo.LongName}" : "missing the container-id argument",
        MissingValueOptionError e => $"flag --{e.NameInfo.LongName} needs a value",
        BadFormatConversionError e => $"invalid value for {e.NameInfo.NameText}",
        SequenceOutOfRangeError e => $"wrong number of values for {e.NameInfo.NameText}",
        RepeatedOptionError e => $"flag --{e.NameInfo.LongName} given twice",
        BadVerbSelectedError e => $"unknown command {e.Token}",
        null => "invalid arguments",
        _ => $"invalid arguments ({error.Tag})",
    };

    /// <summary>The help text of the whole program.</summary>
    public static string HelpText()
    {
        var text = new System.Text.StringBuilder();
        text.Append("runsc-net: a sandboxing OCI runtime (the container's programs run on a user-space kernel)\n\n");
        text.Append("usage: runsc-net [global flags] COMMAND [flags] [arguments]\n\ncommands:\n");
        foreach (Type type in CommandTypes)
        {
            var verb = (VerbAttribute)Attribute.GetCustomAttribute(type, typeof(VerbAttribute))!;
            if (verb.Hidden) continue;
            text.Append($"  {verb.Name,-12} {verb.HelpText}\n");
        }
        text.Append("\nglobal flags:\n");
        text.Append($"  --root DIR              state directory (default {GlobalOptions.DefaultRoot})\n");
        text.Append("  --log FILE              also write log lines to FILE\n");
        text.Append("  --log-format text|json  format of log lines (default text)\n");
        text.Append("  --debug                 log debug lines\n");
        text.Append("  --debug-log DIR         one debug log file per process in DIR\n");
        text.Append("  --systemd-cgroup        cgroupsPath is slice:prefix:name (systemd)\n");
        text.Append("  --network MODE          sandbox (default), none or host\n");
        text.Append("  --platform NAME         systrap (default: seccomp traps) or ptrace\n");
        text.Append("  --host-uds MODE         host unix sockets: none (default), open, create or all\n");
        text.Append("  --strace                log the system calls the sandbox serves\n");
        text.Append("  --version, -v           print the version\n");
        text.Append("  --help, -h              print this help (COMMAND --help: the command's flags)\n");
        return text.ToString();
    }

    /// <summary>The help text of one command, listing its flags and arguments.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070",
        Justification = "Command classes live in the runsc-net assembly, which is rooted for NativeAOT (Runtime.csproj).")]
    public static string CommandHelp(Type type, string name)
    {
        var verb = (VerbAttribute)Attribute.GetCustomAttribute(type, typeof(VerbAttribute))!;
        var text = new System.Text.StringBuilder();
        var values = type.GetProperties()
            .Select(p => (Property: p, Value: (ValueAttribute?)Attribute.GetCustomAttribute(p, typeof(ValueAttribute))))
            .Where(v => v.Value != null).OrderBy(v => v.Value!.Index).ToList();
        text.Append($"usage: runsc-net {name} [flags]");
        foreach (var (_, value) in values)
            text.Append(value!.Required ? $" {value.MetaName}" : $" [{value.MetaName}]");
        text.Append($"\n\n{verb.HelpText}\n");
        var options = type.GetProperties()
            .Select(p => (Property: p, Option: (OptionAttribute?)Attribute.GetCustomAttribute(p, typeof(OptionAttribute))))
            .Where(o => o.Option != null && !o.Option.Hidden).ToList();
        if (options.Count > 0)
        {
            text.Append("\nflags:\n");
            foreach (var (property, option) in options)
            {
                string names = (option!.ShortName.Length > 0 ? $"-{option.ShortName}, " : "    ") + $"--{option.LongName}";
                if (property.PropertyType != typeof(bool)) names += " " + (option.MetaValue ?? "VALUE");
                text.Append($"  {names,-32} {option.HelpText}\n");
            }
        }
        return text.ToString();
    }
}
