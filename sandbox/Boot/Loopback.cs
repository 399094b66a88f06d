using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// Brings up "lo" in the sandbox's own network namespace, as runc does for a container with a new
/// network namespace (its "loopback" network): without it, connecting to 127.0.0.1 fails with
/// ENETUNREACH.
/// </summary>
internal static unsafe class Loopback
{
    private const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    private const short IFF_UP = 0x1;

    /// <summary>Sets IFF_UP on lo; logs (and otherwise ignores) a failure.</summary>
    public static void BringUp(DebugLog log)
    {
        using var fd = new FileDescriptor(HostSockets.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0x80000 /* SOCK_CLOEXEC */, 0));
        if (fd.IsInvalid)
        {
            log.Write($"boot: loopback: socket failed ({HostFiles.Neg()})");
            return;
        }
        // struct ifreq: ifr_name[16], then the union whose ifr_flags is a short.
        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        "lo"u8.CopyTo(new Span<byte>(ifreq, 16));
        if (HostFiles.ioctl(fd.Number, SIOCGIFFLAGS, ifreq) < 0)
        {
            log.Write($"boot: loopback: SIOCGIFFLAGS failed ({HostFiles.Neg()})");
            return;
        }
        short* flags = (short*)(ifreq + 16);
        if ((*flags & IFF_UP) != 0) return;
        *flags |= IFF_UP;
        if (HostFiles.ioctl(fd.Number, SIOCSIFFLAGS, ifreq) < 0) log.Write($"boot: loopback: SIOCSIFFLAGS failed ({HostFiles.Neg()})");
    }
}
