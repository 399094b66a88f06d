using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// From inside a container, every way toward a marker file planted on the host outside the
/// container's mounts: symlinks (absolute, relative with ".."), "..", /proc/self/root,
/// /proc/1/root, hard and symbolic links, renames out of a read-only bind mount, writes to it.
/// None reads or changes the marker or the read-only mount; the rw bind mount still works.
/// </summary>
public sealed class ContainerEscapeTests : IDisposable
{
    private const string Secret = "host secret 5f1e";
    private readonly RunscNetBinary _runsc = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("gofer-escape-").FullName;

    public void Dispose()
    {
        _runsc.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [IntegrationFact(needsRootfs: true)]
    public void NothingReachesTheHostMarker()
    {
        string outside = Path.Combine(_dir, "outside");
        string marker = Path.Combine(outside, "marker");
        Directory.CreateDirectory(outside);
        File.WriteAllText(marker, Secret);
        string ro = Path.Combine(_dir, "ro");
        Directory.CreateDirectory(ro);
        File.WriteAllText(Path.Combine(ro, "file"), "read only");
        string rw = Path.Combine(_dir, "rw");
        Directory.CreateDirectory(rw);

        // A rootfs of our own (the shared fixture must not get planted links).
        string rootfs = Path.Combine(_dir, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy(Path.Combine(Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS")!, "bin", "busybox"), Path.Combine(rootfs, "bin", "busybox"));
        Assert.Equal(0, RunscNet.Gofer.Interop.Files.FChmodAt(PathConsts.AT_FDCWD, Path.Combine(rootfs, "bin", "busybox"), 0x1ED, 0));
        File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "sh"), "busybox");
        foreach (string d in new[] { "proc", "dev", "sys", "tmp", "mnt" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, d));
        }
        File.CreateSymbolicLink(Path.Combine(rootfs, "evil-abs"), outside);
        File.CreateSymbolicLink(Path.Combine(rootfs, "evil-rel"), "../../../../../../../.." + outside);

        const string b = "/bin/busybox";
        string script = string.Join("; ", new[]
        {
            $"{b} cat /evil-abs/marker; echo abs=$?",
            $"{b} cat /evil-rel/marker; echo rel=$?",
            $"{b} cat /proc/self/root{marker}; echo selfroot=$?",
            $"{b} cat /proc/1/root{marker}; echo initroot=$?",
            $"cd /; {b} cat ../../../../..{marker}; echo dotdot=$?",
            $"echo pwned > /evil-abs/marker; echo write=$?",
            $"{b} ln {marker} /hard; echo hardlink=$?",
            $"{b} ln -s {marker} /soft; {b} cat /soft; echo softlink=$?",
            $"{b} mv /mnt/ro/file /stolen; echo mvro=$?",
            $"echo x > /mnt/ro/new; echo writero=$?",
            $"echo ok > /mnt/rw/new; echo writerw=$?",
            $"{b} mv /mnt/rw/new /moved; echo mvrw=$?",
            $"{b} cat /moved; echo done",
        });
        string bundle = Bundles.Make(b, "sh", "-c", script);
        try
        {
            string configPath = Path.Combine(bundle, "config.json");
            var config = JsonNode.Parse(File.ReadAllText(configPath))!;
            config["root"]!["path"] = rootfs;
            config["root"]!["readonly"] = false;
            config["mounts"]!.AsArray().Add(JsonNode.Parse($$"""{ "destination": "/mnt/ro", "type": "bind", "source": "{{ro}}", "options": ["rbind", "ro"] }"""));
            config["mounts"]!.AsArray().Add(JsonNode.Parse($$"""{ "destination": "/mnt/rw", "type": "bind", "source": "{{rw}}", "options": ["rbind", "rw"] }"""));
            File.WriteAllText(configPath, config.ToJsonString());

            CommandResult r = _runsc.Run("run", "--bundle", bundle, "gofer-escape");
            string output = r.Stdout;
            Assert.True(output.Contains("done"), $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
            Assert.DoesNotContain(Secret, output);
            foreach (string attempt in new[] { "abs", "rel", "selfroot", "initroot", "dotdot", "write", "hardlink", "softlink", "mvro", "writero" })
            {
                Assert.Matches($"(?m)^{attempt}=[1-9][0-9]*$", output); // every attempt failed
            }
            Assert.Contains("writerw=0", output);
            Assert.Contains("mvrw=0", output); // across mounts: copy and delete, as on Linux
            Assert.Contains("ok\ndone", output);
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }

        Assert.Equal(Secret, File.ReadAllText(marker));
        Assert.Equal(new[] { marker }, Directory.GetFileSystemEntries(outside));
        Assert.Equal(new[] { Path.Combine(ro, "file") }, Directory.GetFileSystemEntries(ro));
        Assert.Equal("read only", File.ReadAllText(Path.Combine(ro, "file")));
        Assert.Empty(Directory.GetFileSystemEntries(rw)); // moved out of the rw mount
        Assert.Equal("ok\n", File.ReadAllText(Path.Combine(rootfs, "moved")));
        Assert.False(File.Exists(Path.Combine(rootfs, "hard")));
    }
}
