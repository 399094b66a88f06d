using System.Text;
using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Protocol;

namespace RunscNet.Gofer.Server;

/// <summary>What the gofer accepts as one path component and as a symlink target.</summary>
internal static class NameRules
{
    /// <summary>
    /// 0 when <paramref name="name"/> is a single ordinary component; else -ENOENT (empty),
    /// -EINVAL ('/', NUL, "." or ".."), -ENAMETOOLONG (more than NAME_MAX bytes).
    /// </summary>
    public static int CheckComponent(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return -Errno.ENOENT;
        }
        if (name.Contains('/') || name.Contains('\0') || name == "." || name == "..")
        {
            return -Errno.EINVAL;
        }
        if (Encoding.UTF8.GetByteCount(name) > ProtocolLimits.MaxNameLength)
        {
            return -Errno.ENAMETOOLONG;
        }
        return 0;
    }

    /// <summary>0 for a storable symlink target; -ENOENT (empty), -EINVAL (NUL), -ENAMETOOLONG.</summary>
    public static int CheckSymlinkTarget(string? target)
    {
        if (string.IsNullOrEmpty(target))
        {
            return -Errno.ENOENT;
        }
        if (target.Contains('\0'))
        {
            return -Errno.EINVAL;
        }
        if (Encoding.UTF8.GetByteCount(target) > ProtocolLimits.MaxPathLength)
        {
            return -Errno.ENAMETOOLONG;
        }
        return 0;
    }

    /// <summary>
    /// Splits an absolute attach path into checked components ("/" gives none). -EINVAL when it is
    /// relative or holds "." / ".." / NUL, -ENAMETOOLONG when too long.
    /// </summary>
    public static int SplitAttachPath(string? path, out string[] components)
    {
        components = Array.Empty<string>();
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            return -Errno.EINVAL;
        }
        if (Encoding.UTF8.GetByteCount(path) > ProtocolLimits.MaxPathLength)
        {
            return -Errno.ENAMETOOLONG;
        }
        components = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (string c in components)
        {
            int r = CheckComponent(c);
            if (r < 0)
            {
                return r;
            }
        }
        return 0;
    }
}
