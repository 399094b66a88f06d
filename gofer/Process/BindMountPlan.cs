using RunscNet.StateFile.Oci;
using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// One bind mount of the spec as the gofer will make it: host <see cref="Source"/> onto
/// <see cref="Destination"/> (absolute inside the container), recursively for rbind, then
/// remounted with <see cref="Flags"/> (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, atime flags)
/// and given <see cref="Propagation"/> (MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE, | MS_REC).
/// </summary>
internal sealed record BindMountPlan(string Source, string Destination, bool Recursive, ulong Flags, ulong Propagation)
{
    /// <summary>File-system types the Sentry serves itself; the gofer never mounts them.</summary>
    public static readonly string[] SentryTypes = { "proc", "tmpfs", "devpts", "sysfs", "mqueue", "cgroup", "cgroup2", "devtmpfs", "shm" };

    /// <summary>
    /// The bind mounts of <paramref name="spec"/> in spec order, with sources made absolute
    /// against <paramref name="bundle"/>. Mounts of Sentry types and non-bind mounts are left out
    /// (<paramref name="skipped"/> says which and why).
    /// </summary>
    public static List<BindMountPlan> FromSpec(Spec spec, string bundle, List<string> skipped)
    {
        var plans = new List<BindMountPlan>();
        foreach (Mount m in spec.Mounts ?? new List<Mount>())
        {
            List<string> options = m.Options ?? new List<string>();
            string type = m.Type ?? "";
            bool bind = type == "bind" || options.Contains("bind") || options.Contains("rbind");
            if (Array.IndexOf(SentryTypes, type) >= 0 || !bind)
            {
                skipped.Add($"{m.Destination} ({(type.Length == 0 ? "no type" : type)}): served by the Sentry or not a bind mount");
                continue;
            }
            if (string.IsNullOrEmpty(m.Source) || !m.Destination.StartsWith('/'))
            {
                throw new GoferSetupException($"bind mount {m.Destination}: needs a source and an absolute destination");
            }
            ulong flags = 0, propagation = 0;
            bool recursive = false;
            foreach (string option in options)
            {
                switch (option)
                {
                    case "rbind": recursive = true; break;
                    case "ro":
                    case "rro": flags |= Mounts.MS_RDONLY; break; // rro: only the top mount is made read-only
                    case "rw": flags &= ~Mounts.MS_RDONLY; break;
                    case "nosuid": flags |= Mounts.MS_NOSUID; break;
                    case "suid": flags &= ~Mounts.MS_NOSUID; break;
                    case "nodev": flags |= Mounts.MS_NODEV; break;
                    case "dev": flags &= ~Mounts.MS_NODEV; break;
                    case "noexec": flags |= Mounts.MS_NOEXEC; break;
                    case "exec": flags &= ~Mounts.MS_NOEXEC; break;
                    case "noatime": flags |= Mounts.MS_NOATIME; break;
                    case "nodiratime": flags |= Mounts.MS_NODIRATIME; break;
                    case "relatime": flags |= Mounts.MS_RELATIME; break;
                    case "strictatime": flags |= Mounts.MS_STRICTATIME; break;
                    case "private": propagation = Mounts.MS_PRIVATE; break;
                    case "rprivate": propagation = Mounts.MS_PRIVATE | Mounts.MS_REC; break;
                    case "slave": propagation = Mounts.MS_SLAVE; break;
                    case "rslave": propagation = Mounts.MS_SLAVE | Mounts.MS_REC; break;
                    case "shared": propagation = Mounts.MS_SHARED; break;
                    case "rshared": propagation = Mounts.MS_SHARED | Mounts.MS_REC; break;
                    case "unbindable": propagation = Mounts.MS_UNBINDABLE; break;
                    case "runbindable": propagation = Mounts.MS_UNBINDABLE | Mounts.MS_REC; break;
                }
            }
            plans.Add(new BindMountPlan(Path.GetFullPath(m.Source, bundle), m.Destination, recursive, flags, propagation));
        }
        return plans;
    }
}
