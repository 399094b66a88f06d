using System.Text.Json;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// The host side of the sandbox process (the Sentry), seen from outside while a container runs:
/// it has given up the host's file system (an empty read-only root with only a proc of its own
/// PID namespace) and the privileges it does not use (bounding set, seccomp, no_new_privs), yet the container works (LifecycleCommandTests has the exit status that the
/// sandbox records in the state file from there).
/// </summary>
public sealed class SentryConfinementTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private string Bundle(params string[] args)
    {
        string b = Bundles.Make(args);
        _bundles.Add(b);
        return b;
    }

    [IntegrationFact]
    public void TheSentryRunsInAnEmptyRootAndTheContainerStillWorks()
    {
        if (Environment.GetEnvironmentVariable("RUNSC_NET_ROOTFS") is not { Length: > 0 }) return;
        string bundle = Bundle("sh", "-c", "echo started > /dev/shm/up; cat /etc/passwd > /dev/null && sleep 100");
        _runsc.Run("run", "--detach", "--bundle", bundle, "confined").AssertSuccess();
        int pid = JsonDocument.Parse(_runsc.Run("state", "confined").AssertSuccess().Stdout).RootElement.GetProperty("pid").GetInt32();

        // The host's view of the sandbox process's root: a proc and nothing else.
        string root = $"/proc/{pid}/root";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string[] entries;
        while (true)
        {
            entries = Directory.GetFileSystemEntries(root).Select(Path.GetFileName).ToArray()!;
            if (entries.SequenceEqual(new[] { "proc" }) || DateTime.UtcNow > deadline) break;
            Thread.Sleep(50);
        }
        Assert.Equal(new[] { "proc" }, entries);
        Assert.False(File.Exists(Path.Combine(root, "etc/passwd")));
        Assert.False(Directory.Exists(Path.Combine(root, "usr")));
        // Its proc is the sandbox's own PID namespace: the sandbox process is 1 there and no host process shows.
        Assert.True(Directory.Exists(Path.Combine(root, "proc/1")));
        Assert.False(Directory.Exists(Path.Combine(root, $"proc/{Environment.ProcessId}")) && Environment.ProcessId != 1);
        // The root is read-only.
        string mounts = File.ReadAllText($"/proc/{pid}/mounts");
        Assert.Contains(mounts.Split('\n'), l => l.Split(' ') is [_, "/", "tmpfs", var opts, ..] && opts.Split(',').Contains("ro"));

        // Privileges: no_new_privs, a seccomp filter on every thread, and a bounding set without
        // SETUID, SETGID, SYS_MODULE, SYS_RAWIO, MKNOD, SYS_TIME or BPF.
        int checkedThreads = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(Path.Combine(task, "status"));
            }
            catch (IOException)
            {
                continue;   // a thread that ended since the listing (worker threads come and go)
            }
            checkedThreads++;
            var status = lines.Select(l => l.Split(':', 2)).ToDictionary(f => f[0], f => f[1].Trim());
            Assert.Equal("1", status["NoNewPrivs"]);
            Assert.Equal("2", status["Seccomp"]);
            ulong bounding = Convert.ToUInt64(status["CapBnd"], 16);
            foreach (int cap in new[] { 6, 7, 16, 17, 25, 27, 39 }) Assert.Equal(0UL, bounding & (1UL << cap));
            Assert.Equal(0UL, Convert.ToUInt64(status["CapEff"], 16) & ~bounding);
        }
        Assert.True(checkedThreads > 0);

        // The container itself still reads its files through the gofer and runs commands.
        Assert.Equal("started\n", _runsc.Run("exec", "confined", "sh", "-c", "while [ ! -e /dev/shm/up ]; do sleep 0.05; done; cat /dev/shm/up").AssertSuccess().Stdout);
        _runsc.Run("kill", "confined", "KILL").AssertSuccess();
        _runsc.Run("delete", "--force", "confined").AssertSuccess();
    }
}
