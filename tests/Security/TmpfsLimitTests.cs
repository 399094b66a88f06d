using System.Text.Json.Nodes;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// Issue 10 item 4: a tmpfs's size= and nr_inodes= hold. The probe fills /dev/shm (runc's
/// size=65536k) and a nr_inodes=16 tmpfs in the sandbox, and natively a tmpfs mounted with the
/// same options; the outputs must be equal: the short write at the limit, ENOSPC, fallocate
/// refused, sparse ftruncate allowed, statfs's used blocks and inodes.
/// </summary>
public sealed class TmpfsLimitTests
{
    private static CommandResult Native(SecurityProbe probe, string options, string mode)
    {
        string dir = probe.TempDir();
        var mount = SecurityProbe.Exec("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
        Assert.True(mount.ExitCode == 0, mount.Stderr);
        try
        {
            return SecurityProbe.Exec(SecurityProbe.Compile("tmpfssize"), [mode, dir]);
        }
        finally
        {
            SecurityProbe.Exec("umount", [dir]);
        }
    }

    [IntegrationFact]
    public void DevShmSizeIsEnforcedAsOnLinux()
    {
        using var probe = new SecurityProbe();
        var native = Native(probe, "size=65536k,mode=1777", "size");
        Assert.True(native.ExitCode == 0, native.Stdout + native.Stderr);
        Assert.Contains("ENOSPC", native.Stdout);
        var sandboxed = probe.RunInSandbox("tmpfssize", config =>
        {
            config["process"]!["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
            SecurityProbe.SetCapabilities(config);
        }, "size", "/dev/shm");
        Assert.True(sandboxed.ExitCode == 0, sandboxed.Stdout + sandboxed.Stderr);
        Assert.Equal(native.Stdout, sandboxed.Stdout);
        Assert.Contains("write 63: short, 1042276 bytes", sandboxed.Stdout);
        Assert.Contains("write 64: ENOSPC after 67108864 bytes", sandboxed.Stdout);
    }

    [IntegrationFact]
    public void NrInodesIsEnforcedAsOnLinux()
    {
        using var probe = new SecurityProbe();
        var native = Native(probe, "size=1m,nr_inodes=16", "inodes");
        Assert.True(native.ExitCode == 0, native.Stdout + native.Stderr);
        var sandboxed = probe.RunInSandbox("tmpfssize", config =>
        {
            config["mounts"]!.AsArray().Add(new JsonObject
            {
                ["destination"] = "/limited", ["type"] = "tmpfs", ["source"] = "tmpfs",
                ["options"] = new JsonArray("size=1m", "nr_inodes=16"),
            });
        }, "inodes", "/limited");
        Assert.True(sandboxed.ExitCode == 0, sandboxed.Stdout + sandboxed.Stderr);
        Assert.Equal(native.Stdout, sandboxed.Stdout);
        Assert.Contains("create 15: ENOSPC", sandboxed.Stdout);
    }
}
