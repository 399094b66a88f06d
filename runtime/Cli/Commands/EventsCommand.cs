using System.Text.Json;
using CommandLine;
using RunscNet.Runtime.Cgroups;
using RunscNet.Runtime.Lifecycle;
using RunscNet.StateFile;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>events</c>: container statistics (cpu, memory, pids) from the sandbox's cgroup, as runc's JSON events.</summary>
[Verb("events", HelpText = "print container statistics as JSON events")]
public sealed class EventsCommand : ICommand
{
    [Option("stats", HelpText = "print statistics once and exit")]
    public bool Stats { get; set; }

    [Option("interval", Default = "5s", MetaValue = "DURATION", HelpText = "time between statistics (e.g. 5s, 500ms)")]
    public string Interval { get; set; } = "5s";

    [Value(0, MetaName = "container-id", Required = true)]
    public string Id { get; set; } = "";

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        TimeSpan interval = ParseDuration(Interval);
        var container = Container.Load(context.Global.Root, Id);
        do
        {
            RawStdio.Out.WriteLine(Format(container.Id, container.Stats()));
            RawStdio.Out.Flush();
            if (Stats) return 0;
            Thread.Sleep(interval);
        }
        while (container.CurrentStatus() != ContainerStatus.Stopped);
        return 0;
    }

    /// <summary>runc's stats event: {"type":"stats","id":...,"data":{"cpu":...,"memory":...,"pids":...}}.</summary>
    public static string Format(string id, CgroupStats stats)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", "stats");
            json.WriteString("id", id);
            json.WriteStartObject("data");
            json.WriteStartObject("cpu");
            json.WriteStartObject("usage");
            json.WriteNumber("total", stats.CpuUsageNanoseconds);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("memory");
            json.WriteStartObject("usage");
            json.WriteNumber("usage", stats.MemoryUsageBytes);
            json.WriteNumber("limit", stats.MemoryLimitBytes);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("pids");
            json.WriteNumber("current", stats.PidsCurrent);
            json.WriteNumber("limit", stats.PidsLimit == ulong.MaxValue ? 0 : stats.PidsLimit);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Parses Go-style durations: 5s, 500ms, 1m, 2h (or plain seconds).</summary>
    public static TimeSpan ParseDuration(string text)
    {
        string t = text.Trim();
        (string suffix, double scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture, out double v) && v > 0
                && !(suffix == "s" && t.EndsWith("ms", StringComparison.Ordinal)))
                return TimeSpan.FromSeconds(v * scale);
        }
        if (double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0)
            return TimeSpan.FromSeconds(seconds);
        throw new RuntimeError($"invalid --interval {text}");
    }
}
