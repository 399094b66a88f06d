using System.Diagnostics;
using System.Text.Json;
using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// The gofer seen from the host while a container runs (docs/SECURITY.md, "The gofer"): should
/// it be compromised through the Sentry's requests, it holds only CHOWN, DAC_OVERRIDE,
/// DAC_READ_SEARCH, FOWNER and FSETID (serving thread; the other threads none, bounding set the
/// same five, nothing ambient or inheritable), runs as uid 65534 under no_new_privs and a
/// seccomp allow-list (execve, mount, ptrace, kill, sockets other than AF_UNIX, new processes and
/// namespaces refused: tests/Gofer/SeccompFilterTests.cs), in a pid namespace of its own whose
/// procfs (the one it keeps for re-opening files) shows only itself and no system file. Its file
/// operations stay inside the container's tree: tests/Gofer/ContainerEscapeTests.cs,
/// GoferSymlinkEscapeTests.cs (symlink and rename races, /proc paths) and
/// GoferProcessIntegrationTests.cs; host unix sockets: HostUnixSocketTests here and
/// tests/Gofer/HostUdsRefusalTests.cs.
/// </summary>
public sealed class GoferConfinementTests : IDisposable
{
    private const string ServingCapabilities = "000000000000001f";

    /// <summary>The gofer's bounding set at start (runtime/Lifecycle/Sandbox.cs): the five plus SETUID, SETPCAP, SYS_ADMIN.</summary>
    private const ulong SetUpCapabilities = 0x1fUL | (1UL << 7) | (1UL << 8) | (1UL << 21);
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private int GoferPid(string id)
    {
        string state = Directory.GetFiles(_runsc.Root, id + "*.state").Single();
        return JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("goferPid").GetInt32();
    }

    private static Dictionary<string, string> Status(string path) =>
        File.ReadAllLines(path).Select(l => l.Split(':', 2)).ToDictionary(f => f[0], f => f[1].Trim());

    [IntegrationFact(needsRootfs: true)]
    public void TheGoferHoldsOnlyWhatItServesWith()
    {
        string bundle = SecurityBundles.Make(["sh", "-c", "cat /etc/passwd > /dev/null; touch /dev/shm/up; sleep 100"]);
        _bundles.Add(bundle);
        const string id = "gofer-confined";
        _runsc.Run("run", "--detach", "--bundle", bundle, id).AssertSuccess();
        try
        {
            int gofer = GoferPid(id);
            var status = Status($"/proc/{gofer}/status");
            Assert.Equal("2", status["Seccomp"]);
            Assert.Equal("1", status["NoNewPrivs"]);
            Assert.Equal("65534\t65534\t65534\t65534", status["Uid"]);
            Assert.Equal(ServingCapabilities, status["CapBnd"]);
            Assert.Equal("0000000000000000", status["CapInh"]);
            Assert.Equal("0000000000000000", status["CapAmb"]);
            // Every thread: seccomp and no_new_privs; the serving thread the five, the others none.
            // (The bounding set is per thread: runtime threads started before the drop keep the
            // set-up's eight there, but hold none and can never gain one: execve is refused.)
            var effective = new List<string>();
            foreach (string task in Directory.GetDirectories($"/proc/{gofer}/task"))
            {
                Dictionary<string, string> t;
                try { t = Status(Path.Combine(task, "status")); }
                catch (IOException) { continue; } // a runtime thread that ended meanwhile
                Assert.Equal("2", t["Seccomp"]);
                Assert.Equal("1", t["NoNewPrivs"]);
                Assert.Equal(0UL, Convert.ToUInt64(t["CapBnd"], 16) & ~SetUpCapabilities);
                Assert.Equal("0000000000000000", t["CapAmb"]);
                if (t["CapEff"] == ServingCapabilities)
                {
                    Assert.Equal((ServingCapabilities, ServingCapabilities), (t["CapPrm"], t["CapBnd"]));
                }
                else
                {
                    Assert.Equal(("0000000000000000", "0000000000000000"), (t["CapPrm"], t["CapEff"]));
                }
                effective.Add(t["CapEff"]);
            }
            Assert.Equal(1, effective.Count(e => e == ServingCapabilities));
            Assert.All(effective, e => Assert.True(e is ServingCapabilities or "0000000000000000", e));

            // Its own pid namespace, where it is process 1.
            Assert.NotEqual(new FileInfo("/proc/self/ns/pid").LinkTarget, new FileInfo($"/proc/{gofer}/ns/pid").LinkTarget);
            Assert.Equal("1", status["NSpid"].Split('\t')[^1]);

            // The procfs it keeps open (to re-open its O_PATH handles) lists only itself: no host
            // process, no sysrq-trigger, no sys (read through its fd, as the gofer would).
            string? procRoot = null;
            foreach (string fd in Directory.GetFileSystemEntries($"/proc/{gofer}/fd"))
            {
                var ls = Ls(fd + "/../..");
                if (ls.Contains("thread-self")) procRoot = string.Join(' ', ls);
            }
            Assert.Equal("1 self thread-self", procRoot);

            // And the container works through it.
            Assert.Equal("ok\n", _runsc.Run("exec", id, "sh", "-c", "while [ ! -e /dev/shm/up ]; do sleep 0.05; done; echo ok").AssertSuccess().Stdout);
        }
        finally
        {
            _runsc.Run("kill", id, "KILL");
            _runsc.Run("delete", "--force", id);
        }
    }

    /// <summary>ls -A of <paramref name="path"/> as given (no lexical ".." folding, which .NET's path APIs would do), sorted; empty if it is no directory.</summary>
    private static List<string> Ls(string path)
    {
        var psi = new ProcessStartInfo("ls", ["-A", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList() : [];
    }
}
