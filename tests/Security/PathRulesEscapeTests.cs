using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// linux.maskedPaths, linux.readonlyPaths and linux.devices hold against the container (default
/// capabilities, as runc's default spec): a masked file reads empty and writes never reach the
/// host file, a masked directory is empty and read-only, chmod and umount of a mask fail, a
/// read-only path cannot be written directly, through a reopen of /proc/self/fd, by remount or
/// by creating files below it; a listed device node has its type, numbers, mode and owners, and
/// one outside the devices allow-list cannot be opened. Checked against the host files afterwards
/// and against what runc prints for the same bundle (same lines; the Sentry's masks are stricter:
/// chmod of a masked file fails, runc's changes the container's /dev/null).
/// </summary>
public sealed class PathRulesEscapeTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly string _data = Directory.CreateTempSubdirectory("runsc-net-pathrules-").FullName;
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
        Directory.Delete(_data, recursive: true);
    }

    private string Bundle(string script, Action<JsonNode> edit)
    {
        File.WriteAllText(Path.Combine(_data, "s.sh"), script);
        string b = SecurityBundles.Make(["sh", "/data/s.sh"], (_data, "/data"));
        _bundles.Add(b);
        string path = Path.Combine(b, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
        return b;
    }

    private static JsonArray Strings(params string[] s) => new(s.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());

    [IntegrationFact(needsRootfs: true)]
    public void MaskedAndReadonlyPathsCannotBeWrittenOrRemoved()
    {
        Directory.CreateDirectory(Path.Combine(_data, "secretdir"));
        Directory.CreateDirectory(Path.Combine(_data, "rodir"));
        File.WriteAllText(Path.Combine(_data, "secret"), "secret\n");
        File.WriteAllText(Path.Combine(_data, "secretdir", "a"), "a\n");
        File.WriteAllText(Path.Combine(_data, "rofile"), "ro\n");
        string script = """
            for p in /proc/keys /proc/acpi /data/secret /data/secretdir; do stat -c "$p %F %s" $p 2>&1; done
            cat /data/secret; echo cat=$?
            ls -A /data/secretdir | wc -l
            echo x > /data/secret; echo write=$?
            touch /data/secretdir/new 2>&1; echo writedir=$?
            chmod 777 /data/secret 2>/dev/null; echo chmod=$?
            umount /data/secret 2>&1; echo umount=$?
            umount /data/secretdir 2>&1; echo umountdir=$?
            echo x 2>&1 > /data/rofile; echo rowrite=$?
            exec 3</data/rofile; echo y 2>&1 >/proc/self/fd/3; echo reopen=$?
            mount -o remount,rw /data/rodir 2>&1; echo remount=$?
            touch /data/rodir/x 2>&1; echo rotouch=$?
            echo 1 2>&1 > /proc/sys/kernel/domainname; echo sysctl=$?
            cat /data/rofile
            """;
        string b = Bundle(script, c =>
        {
            c["linux"]!["maskedPaths"] = Strings("/proc/keys", "/proc/acpi", "/data/secret", "/data/secretdir", "/nonexistent");
            c["linux"]!["readonlyPaths"] = Strings("/proc/sys", "/data/rofile", "/data/rodir");
        });
        var r = _runsc.Run("run", "--bundle", b, "pathrules-" + Guid.NewGuid().ToString("N")[..8]);
        string o = r.Stdout;
        Assert.Contains("/proc/keys character special file 0\n", o);
        Assert.Contains("/proc/acpi directory 40\n", o);
        Assert.Contains("/data/secret character special file 0\n", o);
        Assert.Contains("/data/secretdir directory 40\n", o);
        Assert.Contains("cat=0\n0\nwrite=0\n", o);   // reads nothing; a write goes to /dev/null
        Assert.Contains("touch: /data/secretdir/new: Read-only file system\nwritedir=1\n", o);
        Assert.Contains("chmod=1\n", o);
        Assert.Contains("umount: can't unmount /data/secret: Operation not permitted\numount=1\n", o);
        Assert.Contains("umountdir=1\n", o);
        Assert.Contains("can't create /data/rofile: Read-only file system\nrowrite=1\n", o);
        Assert.Contains("can't create /proc/self/fd/3: Read-only file system\nreopen=1\n", o);
        Assert.Contains("remount=1\n", o);
        Assert.Contains("touch: /data/rodir/x: Read-only file system\nrotouch=1\n", o);
        Assert.Contains("sysctl=1\n", o);
        Assert.EndsWith("ro\n", o);
        // Nothing reached the host.
        Assert.Equal("secret\n", File.ReadAllText(Path.Combine(_data, "secret")));
        Assert.Equal(["a"], Directory.GetFileSystemEntries(Path.Combine(_data, "secretdir")).Select(Path.GetFileName));
        Assert.Equal("ro\n", File.ReadAllText(Path.Combine(_data, "rofile")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_data, "rodir")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(Path.Combine(_data, "secret")));
    }

    [IntegrationFact(needsRootfs: true)]
    public void ListedDevicesHaveTheirAttributesAndTheAllowListIsEnforced()
    {
        string script = """
            stat -c '%n %F %a %u %g %t,%T' /dev/mynull /dev/mymem 2>&1
            echo hi > /dev/mynull; echo mynull=$?
            head -c 3 /dev/mymem; echo mymem=$?
            echo hi > /dev/null; echo null=$?
            """;
        string b = Bundle(script, c =>
        {
            c["linux"]!["devices"] = new JsonArray(
                new JsonObject { ["path"] = "/dev/mynull", ["type"] = "c", ["major"] = 1, ["minor"] = 3, ["fileMode"] = 432, ["uid"] = 5, ["gid"] = 6 },
                new JsonObject { ["path"] = "/dev/mymem", ["type"] = "c", ["major"] = 1, ["minor"] = 1, ["fileMode"] = 438 });
            c["linux"]!["resources"] ??= new JsonObject();
            c["linux"]!["resources"]!["devices"] = new JsonArray(
                new JsonObject { ["allow"] = false, ["access"] = "rwm" },
                new JsonObject { ["allow"] = true, ["type"] = "c", ["major"] = 1, ["minor"] = 3, ["access"] = "rwm" });
        });
        var r = _runsc.Run("run", "--bundle", b, "devices-" + Guid.NewGuid().ToString("N")[..8]);
        string all = r.Stdout + r.Stderr;
        Assert.Contains("/dev/mynull character special file 660 5 6 1,3\n", r.Stdout);
        Assert.Contains("/dev/mymem character special file 666 0 0 1,1\n", r.Stdout);
        Assert.Contains("can't create /dev/mynull: Permission denied", all);   // mode 0660, owned by 5:6: root without CAP_DAC_OVERRIDE
        Assert.Contains("mynull=1\n", r.Stdout);
        Assert.Contains("head: /dev/mymem: Operation not permitted", all);
        Assert.Contains("mymem=1\n", r.Stdout);
        Assert.Contains("null=0\n", r.Stdout);
    }
}
