using System.Text.Json.Nodes;

namespace RunscNet.Tests.Integration;

/// <summary>
/// Bundles for integration tests: config.json from `runsc-net spec` with terminal off and the
/// given args, and root.path the busybox rootfs of RUNSC_NET_ROOTFS (scripts/test.sh builds it)
/// or, when that is not set, an empty directory (enough for create/state/delete).
/// </summary>
public static class Bundles
{
    /// <summary>Makes a bundle in a new temporary directory; returns its path.</summary>
    public static string Make(params string[] args)
    {
        string dir = Directory.CreateTempSubdirectory("runsc-net-bundle-").FullName;
        RunscNetBinary.RunWithoutRoot("spec", "--bundle", dir).AssertSuccess();
        string configPath = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["process"]!["terminal"] = false;
        var argsArray = new JsonArray();
        foreach (string a in args.Length > 0 ? args : ["sh"]) argsArray.Add(a);
        config["process"]!["args"] = argsArray;
        string? rootfs = Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS");
        if (string.IsNullOrEmpty(rootfs) || !Directory.Exists(rootfs))
        {
            rootfs = Path.Combine(dir, "rootfs");
            Directory.CreateDirectory(rootfs);
        }
        config["root"]!["path"] = rootfs;
        File.WriteAllText(configPath, config.ToJsonString());
        return dir;
    }
}
