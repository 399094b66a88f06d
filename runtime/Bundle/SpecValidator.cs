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
        if (spec.Process.Terminal && spec.Process.ConsoleSize is { Height: 0, Width: 0 })
            spec.Process.ConsoleSize = null;
        return rootfs;
    }
}
