using System.Text.Json;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Bundle;

/// <summary>
/// A bundle: its directory and its parsed, validated config.json, with the root file system
/// resolved to an absolute path.
/// </summary>
public sealed class BundleConfig
{
    private BundleConfig(string directory, Spec spec, string rootfs)
    {
        Directory = directory;
        Spec = spec;
        Rootfs = rootfs;
    }

    /// <summary>Absolute path of the bundle directory.</summary>
    public string Directory { get; }

    /// <summary>The validated spec. <c>root.path</c> is left as written; see <see cref="Rootfs"/>.</summary>
    public Spec Spec { get; }

    /// <summary>Absolute path of the root file system.</summary>
    public string Rootfs { get; }

    /// <summary>Reads and validates <c>&lt;bundleDir&gt;/config.json</c>; throws <see cref="RuntimeError"/> naming the problem.</summary>
    public static BundleConfig Load(string bundleDir)
    {
        string directory = Path.GetFullPath(bundleDir);
        if (!System.IO.Directory.Exists(directory)) throw new RuntimeError($"bundle {directory}: no such directory");
        string configPath = Path.Combine(directory, "config.json");
        byte[] json;
        try
        {
            json = File.ReadAllBytes(configPath);
        }
        catch (FileNotFoundException)
        {
            throw new RuntimeError($"{configPath}: no such file (run `runsc-net spec` to write a default one)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuntimeError($"reading {configPath}: {e.Message}");
        }
        Spec spec = Parse(json, configPath);
        string rootfs = SpecValidator.Validate(spec, directory, configPath);
        return new BundleConfig(directory, spec, rootfs);
    }

    /// <summary>Parses config.json text; throws <see cref="RuntimeError"/> with the JSON error's position.</summary>
    public static Spec Parse(byte[] json, string configPath)
    {
        try
        {
            return JsonSerializer.Deserialize(json, OciJsonContext.Default.Spec)
                ?? throw new RuntimeError($"{configPath}: the file is empty or null");
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is long line ? $" at line {line + 1}" : "";
            string what = e.Message.Split('.', 2)[0];
            throw new RuntimeError($"{configPath}: malformed JSON{where}: {what}");
        }
    }
}
