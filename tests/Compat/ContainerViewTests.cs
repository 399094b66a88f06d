using RunscNet.Tests.Integration;
using Xunit;

namespace RunscNet.Tests.Compat;

/// <summary>
/// What a container's programs read about themselves, as under runc: resource limits inherited
/// from whoever ran the runtime (the spec's rlimits on top) in getrlimit and /proc/self/limits,
/// the spec's noNewPrivileges in /proc/self/status, and statfs of the special mounts (type magic,
/// the size= of a tmpfs, no blocks for sysfs and mqueue), /proc/net of the sandbox's network
/// namespace, /proc/PID/ns, the options of special mounts in /proc/mounts. Runs busybox through
/// the real binary.
/// </summary>
public sealed class ContainerViewTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    private CommandResult Run(string id, string script)
    {
        string b = Bundles.Make("sh", "-c", script);
        _bundles.Add(b);
        return _runsc.Run("run", "--bundle", b, id).AssertSuccess();
    }

    [IntegrationFact(needsRootfs: true)]
    public void LimitsAreTheCallersWithTheSpecsOnTop()
    {
        // runsc-net inherits this process's limits and passes them on, as runc does; the default
        // spec sets RLIMIT_NOFILE to 1024.
        var expected = File.ReadAllLines("/proc/self/limits")
            .Select(l => l.StartsWith("Max open files", StringComparison.Ordinal)
                ? $"{"Max open files",-25} {"1024",-20} {"1024",-20} {"files",-10}"
                : l);
        var r = Run("compat-limits", "cat /proc/self/limits; ulimit -s; ulimit -n");
        string stack = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max stack size", StringComparison.Ordinal))
            .Substring(26, 20).Trim();
        string stackKb = stack == "unlimited" ? stack : (long.Parse(stack) / 1024).ToString();
        Assert.Equal(string.Join('\n', expected) + $"\n{stackKb}\n1024\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void StatusShowsTheSpecsNoNewPrivileges()
    {
        var r = Run("compat-nnp", "grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status");
        Assert.Equal("NoNewPrivs:\t1\nSeccomp:\t0\nSeccomp_filters:\t0\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void SpecialMountsReportLinuxsStatFs()
    {
        // f_type in hex, f_blocks, f_bsize: /dev/shm and /dev have size=65536k in the default spec.
        var r = Run("compat-statfs", "for d in /dev/shm /dev /sys /dev/mqueue; do stat -f -c '%t %b %s' $d; done");
        Assert.Equal("1021994 16384 4096\n1021994 16384 4096\n62656572 0 4096\n19800202 0 4096\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void ProcNetShowsTheSandboxsNetworkNamespace()
    {
        // A fresh network namespace has only lo; the tables have the host kernel's headers.
        var r = Run("compat-procnet", "ls /proc/net/if_inet6 /proc/net/unix /proc/net/dev_snmp6/lo; tail -n +3 /proc/net/dev | cut -d: -f1; head -1 /proc/net/tcp; head -1 /proc/net/udp");
        string tcpHeader = File.ReadLines("/proc/net/tcp").First(), udpHeader = File.ReadLines("/proc/net/udp").First();
        Assert.Equal($"/proc/net/dev_snmp6/lo\n/proc/net/if_inet6\n/proc/net/unix\n    lo\n{tcpHeader}\n{udpHeader}\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void ProcNamespaceLinksNameTheSandboxsNamespaces()
    {
        // As Linux: the ten links, "type:[inode]", and stat through them tells namespaces apart.
        var r = Run("compat-ns", "ls /proc/self/ns | tr '\\n' ' '; echo; readlink /proc/self/ns/net | sed 's/[0-9]//g';"
            + " [ /proc/1/ns/pid -ef /proc/self/ns/pid ] && echo same-pid; [ /proc/self/ns/pid -ef /proc/self/ns/net ] || echo pid-is-not-net");
        Assert.Equal("cgroup ipc mnt net pid pid_for_children time time_for_children user uts \nnet:[]\nsame-pid\npid-is-not-net\n", r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void ProcMountsShowsTmpfsAndDevptsOptionsAsLinux()
    {
        // The default spec's /dev (strictatime, mode=755, size=65536k), /dev/pts and /dev/shm, as runc's show.
        // On a cgroup v1 host /sys/fs/cgroup is a tmpfs too, as runc mounts it.
        bool v1 = !File.Exists("/sys/fs/cgroup/cgroup.controllers");
        // The tmpfs masks of maskedPaths directories (/proc/acpi...) are checked by the masking tests.
        var r = Run("compat-mounts", "grep -E '^(tmpfs|devpts|shm) /(dev|dev/pts|dev/shm|sys/fs/cgroup) ' /proc/mounts");
        Assert.Equal("tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0\n"
            + "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666 0 0\n"
            + "shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0\n"
            + (v1 ? "tmpfs /sys/fs/cgroup tmpfs rw,nosuid,nodev,noexec,relatime,mode=755 0 0\n" : ""), r.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void ProcSysShowsTheHostsSysctlsReadOnlyAsRuncDoes()
    {
        // runc bind-mounts the spec's readonlyPaths (/proc/sys among them) read-only over
        // themselves; the values under /proc/sys are the host kernel's.
        var r = Run("compat-sysctl", "cat /proc/sys/fs/file-max /proc/sys/net/ipv4/ip_local_port_range; "
            + "echo 1 > /proc/sys/vm/overcommit_memory 2>/dev/null || echo refused; grep ' /proc/sys ' /proc/mounts");
        string expected = File.ReadAllText("/proc/sys/fs/file-max") + File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
            + "refused\nproc /proc/sys proc ro,relatime 0 0\n";
        Assert.Equal(expected, r.Stdout);
    }
}
