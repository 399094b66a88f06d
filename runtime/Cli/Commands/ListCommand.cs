using RunscNet.StateFile;
using System.Text.Json;
using CommandLine;
using RunscNet.Runtime.Lifecycle;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>list</c>: the containers under --root, as a table, JSON or bare IDs.</summary>
[Verb("list", HelpText = "list containers")]
public sealed class ListCommand : ICommand
{
    [Option('f', "format", Default = "table", MetaValue = "table|json", HelpText = "output format")]
    public string Format { get; set; } = "table";

    [Option('q', "quiet", HelpText = "print only the IDs")]
    public bool Quiet { get; set; }

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        if (Format is not ("table" or "json")) throw new RuntimeError($"invalid --format {Format}: use table or json");
        List<OciState> states = Container.List(context.Global.Root);
        if (Quiet)
        {
            foreach (var s in states) RawStdio.Out.WriteLine(s.Id);
        }
        else if (Format == "json")
        {
            RawStdio.Out.WriteLine(JsonSerializer.Serialize(states, OciStateJsonContext.Default.ListOciState));
        }
        else
        {
            RawStdio.Out.Write(FormatTable(states));
        }
        return 0;
    }

    /// <summary>runc's table: ID, PID, STATUS, BUNDLE, CREATED, OWNER.</summary>
    public static string FormatTable(IEnumerable<OciState> states)
    {
        var rows = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
        foreach (var s in states)
        {
            rows.Add([s.Id, s.Pid.ToString(), s.Status, s.Bundle,
                s.Created?.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ") ?? "", s.Owner ?? ""]);
        }
        int[] widths = Enumerable.Range(0, 6).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new System.Text.StringBuilder();
        foreach (var row in rows)
        {
            for (int c = 0; c < row.Length; c++)
                text.Append(c == row.Length - 1 ? row[c] : row[c].PadRight(widths[c] + 3));
            text.Append('\n');
        }
        return text.ToString();
    }
}
