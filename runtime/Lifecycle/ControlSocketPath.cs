using System.Security.Cryptography;
using System.Text;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Where a container's control socket lives: <c>&lt;root&gt;/&lt;container-id&gt;.sock</c>, or, when that
/// path does not fit in a sockaddr_un (107 bytes), <c>&lt;root&gt;/&lt;16 hex of sha256(id)&gt;.sock</c>.
/// </summary>
public static class ControlSocketPath
{
    /// <summary>The control socket path of container <paramref name="containerId"/> under <paramref name="rootDir"/>.</summary>
    public static string For(string rootDir, string containerId)
    {
        string path = Path.Combine(Path.GetFullPath(rootDir), containerId + ".sock");
        if (Encoding.UTF8.GetByteCount(path) <= Interop.Sockets.MaxPathLength) return path;
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(containerId)))[..16];
        path = Path.Combine(Path.GetFullPath(rootDir), hash + ".sock");
        if (Encoding.UTF8.GetByteCount(path) > Interop.Sockets.MaxPathLength)
            throw new RuntimeError($"--root {rootDir} is too long for a unix socket path");
        return path;
    }
}
