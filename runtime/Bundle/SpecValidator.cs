using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Bundle;

/// <summary>Checks a spec before anything is started, with errors that say which field is wrong.</summary>
public static class SpecValidator
{
    private static readonly HashSet<string> NamespaceTypes = new(StringComparer.Ordinal)
    {
        "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time",
    };

    /// <summary>
    /// Validates <paramref name="spec"/> of the bundle <paramref name="bundleDir"/>; returns the absolute
    /// root file system path. Throws <see cref="RuntimeError"/> ("config.json: process.args is empty").
    /// </summary>
    public static string Validate(Spec spec, string bundleDir, string configPath)
    {
        string Fail(string message) => throw new RuntimeError($"{configPath}: {message}");

        if (string.IsNullOrEmpty(spec.OciVersion)) Fail("ociVersion is missing");
        if (!spec.OciVersion.StartsWith("1.", StringComparison.Ordinal))
            Fail($"unsupported ociVersion {spec.OciVersion} (runsc-net supports 1.x)");
        if (spec.Process == null) Fail("process is missing");
        if (spec.Process!.Args is not { Count: > 0 } || string.IsNullOrEmpty(spec.Process.Args[0]))
            Fail("process.args is missing or empty");
        if (string.IsNullOrEmpty(spec.Process.Cwd) || !spec.Process.Cwd.StartsWith('/'))
            Fail($"process.cwd must be an absolute path (got \"{spec.Process.Cwd}\")");
        foreach (string env in spec.Process.Env ?? [])
        {
            if (!env.Contains('=')) Fail($"process.env entry \"{env}\" is not NAME=VALUE");
        }
        ValidateProcessSecurity(spec.Process, spec.Linux?.MountLabel, Fail);
        if (spec.Root == null || string.IsNullOrEmpty(spec.Root.Path)) Fail("root.path is missing");
        string rootfs = Path.GetFullPath(spec.Root!.Path, bundleDir);
        if (!Directory.Exists(rootfs)) Fail($"root.path {rootfs} does not exist or is not a directory");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in spec.Linux?.Namespaces ?? [])
        {
            if (!NamespaceTypes.Contains(ns.Type)) Fail($"linux.namespaces: unknown namespace type \"{ns.Type}\"");
            if (!seen.Add(ns.Type)) Fail($"linux.namespaces: namespace \"{ns.Type}\" is listed twice");
            if (ns.Path != null)
            {
                if (!ns.Path.StartsWith('/')) Fail($"linux.namespaces: path of {ns.Type} namespace must be absolute");
                if (!File.Exists(ns.Path)) Fail($"linux.namespaces: {ns.Type} namespace path {ns.Path} does not exist");
            }
        }
        foreach (var mount in spec.Mounts ?? [])
        {
            if (string.IsNullOrEmpty(mount.Destination) || !mount.Destination.StartsWith('/'))
                Fail($"mounts: destination \"{mount.Destination}\" must be an absolute path");
        }
        if (PathRulesValidator.Check(spec) is string problem) Fail(problem);
        // linux.seccomp is enforced by the Sentry (Kernel/Seccomp/OciSeccompProfile.cs): what it
        // cannot honour is refused here, before any process starts.
        if (spec.Linux?.Seccomp is System.Text.Json.JsonElement profile && profile.ValueKind != System.Text.Json.JsonValueKind.Null)
        {
            try { Sentry.Kernel.Seccomp.OciSeccompProfile.Parse(profile); }
            catch (FormatException e) { Fail(e.Message); }
        }
        if (spec.Process.Terminal && spec.Process.ConsoleSize is { Height: 0, Width: 0 })
            spec.Process.ConsoleSize = null;
        return rootfs;
    }

    /// <summary>
    /// Fields of process that must map onto a kernel interface, or the spec is refused (config.md:
    /// "any value which cannot be mapped to a relevant kernel interface MUST cause an error"):
    /// capability names, rlimit types and soft ≤ hard (setrlimit's EINVAL), oomScoreAdj in
    /// [-1000, 1000], and LSM labels, which need that LSM on the host (runc fails at start when
    /// writing them; runsc-net says so at create).
    /// </summary>
    private static void ValidateProcessSecurity(Process process, string? mountLabel, Func<string, string> fail)
    {
        var caps = process.Capabilities;
        foreach (var (set, names) in new[] { ("bounding", caps?.Bounding), ("effective", caps?.Effective),
                     ("inheritable", caps?.Inheritable), ("permitted", caps?.Permitted), ("ambient", caps?.Ambient) })
        {
            foreach (string name in names ?? [])
            {
                if (!RunscNet.Sentry.Boot.Capabilities.IsKnown(name))
                    fail($"process.capabilities.{set}: unknown capability \"{name}\"");
            }
        }
        var seenLimits = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in process.Rlimits ?? [])
        {
            if (RunscNet.Sentry.Kernel.Rlimits.FromName(r.Type) < 0) fail($"process.rlimits: unknown rlimit type \"{r.Type}\"");
            if (!seenLimits.Add(r.Type)) fail($"process.rlimits: {r.Type} is listed twice");
            if (r.Soft > r.Hard) fail($"process.rlimits: {r.Type} soft limit {r.Soft} is above its hard limit {r.Hard}");
        }
        if (process.OomScoreAdj is < -1000 or > 1000)
            fail($"process.oomScoreAdj {process.OomScoreAdj} is outside [-1000, 1000]");
        if (!string.IsNullOrEmpty(process.ApparmorProfile))
        {
            fail(HostLsm.AppArmorEnabled
                ? $"process.apparmorProfile \"{process.ApparmorProfile}\": runsc-net does not apply AppArmor profiles to the sandbox yet (the Sentry's own seccomp and namespaces confine it)"
                : $"process.apparmorProfile \"{process.ApparmorProfile}\" is set but AppArmor is not enabled on this host");
        }
        foreach (var (field, label) in new[] { ("process.selinuxLabel", process.SelinuxLabel), ("linux.mountLabel", mountLabel) })
        {
            if (string.IsNullOrEmpty(label)) continue;
            fail(HostLsm.SelinuxEnabled
                ? $"{field} \"{label}\": runsc-net does not apply SELinux labels yet"
                : $"{field} \"{label}\" is set but SELinux is not enabled on this host");
        }
    }
}
