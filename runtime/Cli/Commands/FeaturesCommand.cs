using RunscNet.StateFile;
using System.Text.Json;
using CommandLine;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>features</c>: what this runtime implements, in the JSON layout of the OCI features document.</summary>
[Verb("features", HelpText = "print the features of this runtime as JSON")]
public sealed class FeaturesCommand : ICommand
{
    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        using var stdout = RawStdio.Open(1);
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("ociVersionMin", "1.0.0");
            json.WriteString("ociVersionMax", RuntimeVersion.OciSpecVersion);
            WriteArray(json, "hooks", []);
            WriteArray(json, "mountOptions", ["ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind"]);
            json.WriteStartObject("linux");
            WriteArray(json, "namespaces", ["pid", "network", "ipc", "uts", "mount"]);
            json.WriteStartObject("seccomp");
            json.WriteBoolean("enabled", false);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("annotations");
            json.WriteString("io.github.runsc-net.version", RuntimeVersion.Version);
            json.WriteString("io.github.runsc-net.platform", "ptrace");
            json.WriteEndObject();
            json.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
        return 0;
    }

    private static void WriteArray(Utf8JsonWriter json, string name, string[] values)
    {
        json.WriteStartArray(name);
        foreach (string v in values) json.WriteStringValue(v);
        json.WriteEndArray();
    }
}
