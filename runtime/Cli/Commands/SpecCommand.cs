using System.Text.Json;
using CommandLine;
using RunscNet.Runtime.Bundle;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Cli.Commands;

/// <summary><c>spec</c>: writes a default config.json into the bundle directory.</summary>
[Verb("spec", HelpText = "write a default config.json (like runc spec)")]
public sealed class SpecCommand : ICommand
{
    [Option('b', "bundle", Default = ".", MetaValue = "DIR", HelpText = "bundle directory to write config.json into")]
    public string Bundle { get; set; } = ".";

    [Option("rootless", Hidden = true, HelpText = "accepted for runc compatibility")]
    public bool Rootless { get; set; }

    /// <inheritdoc/>
    public int Execute(CommandContext context)
    {
        string directory = Path.GetFullPath(Bundle);
        if (!Directory.Exists(directory)) throw new RuntimeError($"bundle {directory}: no such directory");
        string path = Path.Combine(directory, "config.json");
        if (File.Exists(path)) throw new RuntimeError($"{path} exists; remove it first");
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(DefaultSpec.Create(), OciJsonContext.Default.Spec);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.Write(json);
            file.WriteByte((byte)'\n');
        }
        return 0;
    }
}
