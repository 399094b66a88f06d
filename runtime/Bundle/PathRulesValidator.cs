using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Bundle;

/// <summary>
/// Checks of linux.maskedPaths, linux.readonlyPaths, linux.devices, linux.resources.devices and
/// linux.rootfsPropagation before anything starts (the Sentry applies them at boot; a value it
/// could not apply must stop create with a clear error, never be dropped).
/// </summary>
public static class PathRulesValidator
{
    private static readonly HashSet<string> Propagations = new(StringComparer.Ordinal)
    {
        "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
    };

    /// <summary>Returns null or the message of the first problem ("linux.maskedPaths: ... must be absolute").</summary>
    public static string? Check(Spec spec)
    {
        var linux = spec.Linux;
        if (linux == null) return null;
        foreach (string p in linux.MaskedPaths ?? [])
            if (!p.StartsWith('/')) return $"linux.maskedPaths: \"{p}\" must be an absolute path";
        foreach (string p in linux.ReadonlyPaths ?? [])
            if (!p.StartsWith('/')) return $"linux.readonlyPaths: \"{p}\" must be an absolute path";
        if (linux.RootfsPropagation is { Length: > 0 } rp && !Propagations.Contains(rp))
            return $"linux.rootfsPropagation: unknown value \"{rp}\" (shared, slave, private, unbindable, or their r forms)";
        foreach (var d in linux.Devices ?? [])
        {
            if (!d.Path.StartsWith('/')) return $"linux.devices: path \"{d.Path}\" must be absolute";
            if (d.Type is not ("c" or "b" or "u" or "p")) return $"linux.devices: {d.Path}: unknown type \"{d.Type}\" (c, b, u or p)";
            if (d.Type != "p" && (d.Major < 0 || d.Major > 0xfff || d.Minor < 0 || d.Minor > 0xfffff))
                return $"linux.devices: {d.Path}: device number {d.Major}:{d.Minor} out of range";
        }
        foreach (var r in linux.Resources?.Devices ?? [])
        {
            if (r.Type is { Length: > 0 } t && t is not ("a" or "c" or "b"))
                return $"linux.resources.devices: unknown type \"{t}\" (a, c or b)";
            if (r.Access is { } access && access.Any(c => c is not ('r' or 'w' or 'm')))
                return $"linux.resources.devices: unknown access \"{access}\" (letters r, w, m)";
        }
        return null;
    }
}
