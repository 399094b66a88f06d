using RunscNet.Runtime.Cli;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Which linux.sysctl keys a container may set: runc's rules (libcontainer/configs/validate),
/// because a sysctl that is not namespaced would change the host for everyone. Allowed: the
/// SysV IPC limits (kernel.msgmax, msgmnb, msgmni, sem, shmall, shmmax, shmmni, shm_rmid_forced)
/// and fs.mqueue.* with an IPC namespace of the container's; net.* with a network namespace that
/// is not the caller's; kernel.domainname with a UTS namespace of its own (kernel.hostname
/// conflicts with the hostname field). Everything else is refused at create.
/// Where they apply: the IPC and mqueue ones and domainname are values the Sentry keeps (it
/// serves /proc/sys/kernel and fs/mqueue and implements SysV IPC itself); net.* are written into
/// the sandbox's network namespace (by the runtime for a namespace given by path, by boot for
/// its own), so the host kernel's network stack the container uses really has them.
/// </summary>
internal static class SysctlRules
{
    private static readonly HashSet<string> s_ipc = new(StringComparer.Ordinal)
    {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
        "fs.mqueue.msg_max", "fs.mqueue.msgsize_max", "fs.mqueue.queues_max", "fs.mqueue.msg_default",
        "fs.mqueue.msgsize_default",
    };

    /// <summary>Throws <see cref="RuntimeError"/> for a key runc would refuse or the Sentry does not know.</summary>
    public static void Validate(Spec spec, GlobalOptions global)
    {
        var sysctl = spec.Linux?.Sysctl;
        if (sysctl == null || sysctl.Count == 0) return;
        var namespaces = spec.Linux?.Namespaces ?? [];
        Namespace? Find(string type) => namespaces.FirstOrDefault(n => n.Type == type);
        foreach (var (rawKey, value) in sysctl)
        {
            // runc accepts both separators (kernel/shmmax).
            string key = rawKey.Replace('/', '.');
            string Fail(string why) => throw new RuntimeError($"linux.sysctl: {rawKey}: {why}");
            if (key.StartsWith("kernel.", StringComparison.Ordinal) && s_ipc.Contains(key) || key.StartsWith("fs.mqueue.", StringComparison.Ordinal))
            {
                if (Find("ipc") == null) Fail("not allowed in the host's IPC namespace (linux.namespaces has no ipc namespace)");
                if (!s_ipc.Contains(key)) Fail("no such sysctl");
                if (!ValidNumbers(key, value)) Fail($"invalid value \"{value}\"");
                continue;
            }
            if (key.StartsWith("net.", StringComparison.Ordinal))
            {
                var net = Find("network");
                if (net == null || global.Network == "host") Fail("not allowed in the host's network namespace");
                if (net!.Path != null && SameNamespace(net.Path, "/proc/self/ns/net")) Fail($"not allowed in the host's network namespace ({net.Path})");
                if (key.Contains("..", StringComparison.Ordinal) || !File.Exists("/proc/sys/" + key.Replace('.', '/')))
                    Fail("no such sysctl");
                continue;
            }
            if (key == "kernel.domainname" && Find("uts") is { Path: null }) continue;
            if (key == "kernel.hostname" && Find("uts") != null) Fail("conflicts with the hostname field (set hostname instead)");
            Fail("not in a separate kernel namespace: it would change the host");
        }
    }

    /// <summary>The net.* entries of linux.sysctl as (path below /proc/sys, value).</summary>
    public static IEnumerable<(string Path, string Value)> NetworkEntries(Spec spec) =>
        (spec.Linux?.Sysctl ?? []).Select(kv => (Key: kv.Key.Replace('/', '.'), kv.Value))
            .Where(kv => kv.Key.StartsWith("net.", StringComparison.Ordinal))
            .Select(kv => (kv.Key.Replace('.', '/'), kv.Value));

    private static bool ValidNumbers(string key, string value)
    {
        string[] parts = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        int want = key == "kernel.sem" ? 4 : 1;
        return parts.Length == want && parts.All(p => long.TryParse(p, out long n) && n >= 0);
    }

    /// <summary>True if both files are the same namespace (nsfs dev and inode, as stat shows them).</summary>
    internal static unsafe bool SameNamespace(string a, string b)
    {
        LinuxStat sa, sb;
        return LibcCalls.Stat(a, &sa) == 0 && LibcCalls.Stat(b, &sb) == 0 && sa.Dev == sb.Dev && sa.Ino == sb.Ino;
    }

}
