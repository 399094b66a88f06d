using System.Text.Json;
using CommandLine;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Syscalls;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary>
/// <c>syscalls</c>: every x86-64 system call with the Sentry's support for it (supported, partial,
/// unsupported) and the note of its row, read from the live table (LinuxSyscalls.Table), as
/// runsc's <c>help syscalls</c>.
/// </summary>
[Verb("syscalls", HelpText = "list every x86-64 system call and how the Sentry supports it")]
public sealed class SyscallsCommand : ICommand
{
    [Option('f', "format", Default = "table", MetaValue = "table|json", HelpText = "output format")]
    public string Format { get; set; } = "table";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        if (Format is not ("table" or "json")) throw new RuntimeError($"invalid --format {Format}: use table or json");
        var rows = LinuxSyscalls.Table.Catalog();
        if (Format == "json")
        {
            using var stdout = Console.OpenStandardOutput();
            using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartArray();
                foreach (var e in rows)
                {
                    json.WriteStartObject();
                    json.WriteNumber("number", e.Number);
                    json.WriteString("name", e.Name);
                    json.WriteString("support", SyscallTable.LevelName(e.Level));
                    if (e.Note != null) json.WriteString("note", e.Note);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            stdout.WriteByte((byte)'\n');
            return 0;
        }
        var w = Console.Out;
        w.WriteLine($"{"NR",-4} {"NAME",-24} {"SUPPORT",-12} NOTE");
        foreach (var e in rows)
            w.WriteLine($"{e.Number,-4} {e.Name,-24} {SyscallTable.LevelName(e.Level),-12} {e.Note}".TrimEnd());
        int supported = rows.Count(e => e.Level == SupportLevel.Supported), partial = rows.Count(e => e.Level == SupportLevel.PartiallySupported);
        w.WriteLine($"{rows.Count} calls: {supported} supported, {partial} partial, {rows.Count - supported - partial} unsupported");
        return 0;
    }
}
