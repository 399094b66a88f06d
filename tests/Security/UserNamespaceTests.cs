using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Attack: the container's root, in a user namespace that maps it to host uid 100000, tries to act
/// as the host's root on a bind-mounted host file owned by root (an id its namespace does not
/// map): read a 0600 file, write it, chmod it, chown it to itself, chown its own file to an id
/// outside the map, and unlink from a sticky directory of the host's root. Linux refuses each
/// (capabilities act only on files whose owner is mapped: EACCES/EPERM; an unmappable id:
/// EINVAL); so must the Sentry, and the host file must be unchanged.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UserNamespaceTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    [IntegrationFact(needsRootfs: true)]
    public void MappedRootCannotActAsHostRootOnUnmappedFiles()
    {
        string data = Directory.CreateTempSubdirectory("runsc-net-userns-attack-").FullName;
        _dirs.Add(data);
        File.SetUnixFileMode(data, (UnixFileMode)0x3ff); // 1777: sticky, world-writable, owned by host root
        string secret = Path.Combine(data, "secret");
        File.WriteAllText(secret, "host secret\n");
        File.SetUnixFileMode(secret, (UnixFileMode)0x180); // 0600 root:root
        string mine = Path.Combine(data, "mine");
        File.WriteAllText(mine, "mine\n");
        NamespaceSpecTests.Chown(mine, 100000, 100000);

        string script = "id -u; cat /data/secret || echo read-refused; (echo pwned > /data/secret) 2>/dev/null || echo write-refused;"
            + " chmod 666 /data/secret 2>&1 | grep -q 'not permitted' && echo chmod-refused;"
            + " chown 0:0 /data/secret 2>&1 | grep -q 'not permitted' && echo chown-refused;"
            + " chown 70000 /data/mine 2>&1 | grep -q 'Invalid argument' && echo unmapped-id-refused;"
            + " rm -f /data/secret 2>&1 | grep -q 'not permitted' && echo unlink-refused;"
            + " stat -c '%u %g %a' /data/secret";
        string b = Bundles.Make("sh", "-c", script);
        _dirs.Add(b);
        string path = Path.Combine(b, "config.json");
        var c = JsonNode.Parse(File.ReadAllText(path))!;
        c["linux"]!["namespaces"]!.AsArray().Add(new JsonObject { ["type"] = "user" });
        c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        c["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/data", ["type"] = "bind", ["source"] = data, ["options"] = new JsonArray("rbind", "rw") });
        File.WriteAllText(path, c.ToJsonString());

        var r = _runsc.Run("run", "--bundle", b, "userns-attack");
        Assert.Equal("0\nread-refused\nwrite-refused\nchmod-refused\nchown-refused\nunmapped-id-refused\nunlink-refused\n65534 65534 600\n", r.Stdout);
        Assert.Equal("host secret\n", File.ReadAllText(secret));
        Assert.Equal((0u, 0u), NamespaceSpecTests.Owner(secret));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(secret));
        Assert.Equal((100000u, 100000u), NamespaceSpecTests.Owner(mine));
    }
}
