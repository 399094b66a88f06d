using Tmds.Linux;

namespace RunscNet.Sentry.Control;

/// <summary>
/// The control socket's peer credentials (SO_PEERCRED). Its other calls (accept4, read, send,
/// poll, shutdown) are Tmds.LibC's; fds ride in <see cref="ScmRights"/>.
/// </summary>
internal static unsafe class ControlSocketInterop
{
    /// <summary>The credentials the peer of connected unix socket <paramref name="fd"/> had at connect(2); false if unknown.</summary>
    public static bool TryPeerCredentials(int fd, out ucred credentials)
    {
        ucred c;
        socklen_t length = (uint)sizeof(ucred);
        bool ok = LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, &c, &length) == 0 && (uint)length == (uint)sizeof(ucred);
        credentials = c;
        return ok;
    }
}
