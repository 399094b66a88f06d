using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Host;

namespace RunscNet.Sentry.Vfs.Dev;

/// <summary>
/// /dev/pts/ptmx (and /dev/ptmx, a link to it): each open makes a new pseudo-terminal pair, as
/// posix_openpt(3), openpty(3), script(1), Python's pty module do. The pair is a host pty from the
/// host's devpts, opened through an O_PATH fd of the host's /dev/ptmx kept from boot (a device
/// file, not a directory: reopened as /proc/self/fd/N in the Sentry's own proc);
/// its slave is registered in the sandbox's devpts under the container's own number, which the
/// master's TIOCGPTN reports, and is opened through the master (TIOCGPTPEER) whenever the
/// container opens /dev/pts/N, so the Sentry holds no slave fd and the master sees the hang-up of
/// the last one as on Linux. The host pty is unlocked at once; the container's TIOCSPTLCK is accepted.
/// </summary>
internal sealed class PtmxInode : Inode
{
    /// <summary>An O_PATH fd of the host's /dev/ptmx (-1 when there is none: then opens give ENODEV).</summary>
    public static int HostPtmxFd { get; private set; } = -1;

    private const int O_PATH = 0x200000, O_NOFOLLOW = 0x20000;
    private const ulong TIOCSPTLCK = 0x40045431, TIOCGPTN = 0x80045430;

    /// <summary>
    /// Keeps an O_PATH fd of the host's /dev/ptmx for later opens (call before leaving the host's
    /// tree). /dev/ptmx (mode 0666) rather than /dev/pts/ptmx, which hosts often make mode 000.
    /// </summary>
    public static void KeepHostPtmx()
    {
        if (HostPtmxFd >= 0) return;
        int fd = HostFiles.openat(-100, "/dev/ptmx", O_PATH | O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
        if (fd >= 0) HostPtmxFd = fd;
    }

    internal PtmxInode(DevptsFileSystem fs) : base(fs) { }

    private readonly long _createdNs = FileSystem.NowNs();

    /// <summary>The device number of ptmx (5, 2).</summary>
    public static ulong Rdev => DeviceRegistry.MakeDev(5, 2);

    /// <inheritdoc/>
    public override InodeAttr Attr => new()
    {
        Mode = LinuxMode.S_IFCHR | 0x1b6, Nlink = 1, BlockSize = 1024, Rdev = Rdev,
        Dev = FileSystem.DeviceId, Ino = Ino, AtimeNs = _createdNs, MtimeNs = _createdNs, CtimeNs = _createdNs,
    };

    /// <inheritdoc/>
    public override unsafe int Open(Task task, int flags, out FileDescription? file)
    {
        file = null;
        if (HostPtmxFd < 0) return -Errno.ENODEV;
        int master = HostFiles.openat(-100, $"/proc/self/fd/{HostPtmxFd}", OpenFlags.O_RDWR | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC, 0);
        if (master < 0) return HostFiles.Neg();
        int unlock = 0, hostNumber = 0;
        if (HostFiles.ioctl(master, TIOCSPTLCK, &unlock) != 0 || HostFiles.ioctl(master, TIOCGPTN, &hostNumber) != 0)
        {
            int err = HostFiles.Neg();
            FileDescriptor.Close(master);
            return err;
        }
        var f = HostFileDescription.FromHostFd(master);
        ulong hostRdev = DeviceRegistry.MakeDev(DevptsFileSystem.PtySlaveMajor, (uint)hostNumber);
        var node = DevptsFileSystem.Instance.RegisterPair(hostRdev, f.OpenPeer, task.Credentials.Fsuid, 5);
        HostFileDescription.StartTerminal(node.Rdev, node.Ino);
        f.StatusFlags = flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC);
        f.MakeMasterOf(node, task.Kernel);
        file = f;
        return 0;
    }
}
