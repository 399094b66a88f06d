using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Vfs.Socket;

/// <summary>
/// The network-device queries every socket answers, whatever its family (netdevice(7); Linux's
/// sock_do_ioctl falls back to dev_ioctl): SIOCGIFCONF and the SIOCGIF* reads of one struct ifreq,
/// answered by the sandbox's network namespace through a host socket of the Sentry. Changes
/// (SIOCSIF*) are not passed on. glibc's if_nametoindex/if_indextoname use these on any socket
/// (often AF_UNIX).
/// </summary>
internal static class InterfaceIoctls
{
    private const uint SIOCGIFCONF = 0x8912;
    private static readonly HashSet<uint> s_ifreqReads =
    [
        0x8910, // SIOCGIFNAME
        0x8913, // SIOCGIFFLAGS
        0x8915, // SIOCGIFADDR
        0x8917, // SIOCGIFDSTADDR
        0x8919, // SIOCGIFBRDADDR
        0x891b, // SIOCGIFNETMASK
        0x891d, // SIOCGIFMETRIC
        0x8921, // SIOCGIFMTU
        0x8927, // SIOCGIFHWADDR
        0x8933, // SIOCGIFINDEX
        0x8935, // SIOCGIFPFLAGS
        0x8942, // SIOCGIFTXQLEN
        0x8970, // SIOCGIFMAP
    ];

    private static readonly object s_lock = new();
    private static int s_queryFd = -1;

    /// <summary>True for the requests <see cref="Ioctl"/> answers.</summary>
    public static bool Handles(uint request) => request == SIOCGIFCONF || s_ifreqReads.Contains(request);

    /// <summary>
    /// Answers <paramref name="request"/> with host fd <paramref name="fd"/> (a socket in the
    /// sandbox's namespace), or with the Sentry's own query socket when <paramref name="fd"/> is -1.
    /// </summary>
    public static unsafe long Ioctl(Task task, int fd, uint request, ulong argument)
    {
        if (fd < 0) fd = QueryFd();
        if (fd < 0) return -Errno.ENODEV;
        if (request == SIOCGIFCONF) return Conf(task, fd, argument);
        // struct ifreq: 40 bytes, no pointers for these requests.
        var b = new byte[40];
        int err = task.Memory.CopyIn(argument, b);
        if (err != 0) return err;
        fixed (byte* p = b) if (HostFiles.ioctl(fd, request, p) < 0) return HostFiles.Neg();
        return task.Memory.CopyOut(argument, b);
    }

    /// <summary>SIOCGIFCONF: struct ifconf {int ifc_len; char *ifc_buf} — with a NULL buffer the length needed.</summary>
    private static unsafe long Conf(Task task, int fd, ulong argument)
    {
        var hdr = new byte[16];
        if (task.Memory.CopyIn(argument, hdr) != 0) return -Errno.EFAULT;
        int len = BitConverter.ToInt32(hdr, 0);
        ulong buf = BitConverter.ToUInt64(hdr, 8);
        var data = new byte[buf == 0 ? 0 : Math.Clamp(len, 0, 1 << 16)];
        fixed (byte* d = data)
        {
            var conf = stackalloc byte[16];
            *(int*)conf = data.Length;
            *(byte**)(conf + 8) = buf == 0 ? null : d;
            if (HostFiles.ioctl(fd, SIOCGIFCONF, conf) < 0) return HostFiles.Neg();
            len = *(int*)conf;
        }
        if (buf != 0 && len > 0 && task.Memory.CopyOut(buf, data.AsSpan(0, Math.Min(len, data.Length))) != 0) return -Errno.EFAULT;
        BitConverter.TryWriteBytes(hdr.AsSpan(0), len);
        return task.Memory.CopyOut(argument, hdr.AsSpan(0, 4));
    }

    private static int QueryFd()
    {
        lock (s_lock)
        {
            if (s_queryFd < 0)
            {
                const int SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
                s_queryFd = HostSockets.socket(2 /* AF_INET */, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (s_queryFd < 0) s_queryFd = HostSockets.socket(10 /* AF_INET6 */, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            }
            return s_queryFd;
        }
    }
}
