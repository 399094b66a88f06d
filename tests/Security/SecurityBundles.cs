using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;

namespace RunscNet.Tests.Security;

/// <summary>Bundles for the escape tests: the busybox rootfs, with the probe binaries and host directories bind-mounted.</summary>
internal static class SecurityBundles
{
    /// <summary>
    /// A bundle running <paramref name="args"/> with the compiled probes at /probe (read-only)
    /// and each (host source, container destination) of <paramref name="binds"/> bind-mounted read-write.
    /// </summary>
    public static string Make(string[] args, params (string Source, string Destination)[] binds)
    {
        string bundle = Bundles.Make(args);
        string configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        var mounts = config["mounts"]!.AsArray();
        mounts.Add(new JsonObject
        {
            ["destination"] = "/probe", ["type"] = "bind", ["source"] = SyscallProbe.Compile("hostuds"),
            ["options"] = new JsonArray("rbind", "ro"),
        });
        foreach (var (source, destination) in binds)
        {
            mounts.Add(new JsonObject
            {
                ["destination"] = destination, ["type"] = "bind", ["source"] = source,
                ["options"] = new JsonArray("rbind", "rw"),
            });
        }
        File.WriteAllText(configPath, config.ToJsonString());
        return bundle;
    }
}
