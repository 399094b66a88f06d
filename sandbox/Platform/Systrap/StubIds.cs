using System.Collections.Concurrent;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// Checks of the ids and fds a stub reports through its shared page. The page is mapped writable
/// in the application, so a racing application thread can replace any value the handler stores
/// there (a new thread's tid, a forked child's pid, the number of an fd in the stub) before the
/// Sentry reads it. Nothing read from the page is acted on until the host kernel confirms it:
/// a tid must be a thread of that stub's thread group (tgkill with signal 0) and not one a context
/// already drives; a child is learnt from the pidfd CLONE_PIDFD made for it (its pid and parent
/// from the kernel, never from the page), must be the Sentry's child and no stub the Sentry
/// already owns; an fd taken from a stub must be the kind of file the Sentry expects (the shared
/// pages are memfds the Sentry makes itself and hands to the stub). A value that
/// fails these checks is an attack or a corrupted stub: the caller kills that stub process.
/// </summary>
internal static unsafe class StubIds
{
    private const long SYS_tgkill = 234, SYS_pidfd_open = 434, SYS_pidfd_getfd = 438, SYS_getsockopt = 55;
    private const ulong PIDFD_GET_INFO = 0xC040FF0B;   // _IOWR(0xFF, 11, struct pidfd_info) with the 64-byte VER0 layout
    private const ulong PIDFD_INFO_PID = 1;
    private const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000;
    private const int SOL_SOCKET = 1, SO_TYPE = 3, SO_PEERCRED = 17, SO_DOMAIN = 39, AF_UNIX = 1, SOCK_SEQPACKET = 5;

    /// <summary>Where a forgery is reported (the boot process's debug log).</summary>
    public static DebugLog Log { get; set; } = DebugLog.Null;

    /// <summary>Thread-group ids of the stub processes the Sentry drives (a forged pid must not name one).</summary>
    private static readonly ConcurrentDictionary<int, byte> s_stubs = new();

    /// <summary>The Sentry's own pid (in its pid namespace, where the stubs live).</summary>
    public static int SentryPid { get; } = HostIo.GetPid();

    /// <summary>Records <paramref name="pid"/> as a stub the Sentry owns; false when it is no valid new stub pid.</summary>
    public static bool Claim(int pid) => pid > 0 && pid != SentryPid && s_stubs.TryAdd(pid, 0);

    /// <summary>The stub <paramref name="pid"/> is reaped: its pid may be reused.</summary>
    public static void Forget(int pid) => s_stubs.TryRemove(pid, out _);

    /// <summary>True when <paramref name="tid"/> is a live thread of the stub process <paramref name="pid"/>.</summary>
    public static bool IsThreadOf(int pid, long tid) =>
        tid > 0 && tid <= int.MaxValue && tid != SentryPid &&
        RawSyscall.Checked(SYS_tgkill, pid, tid, 0) == 0;

    /// <summary>
    /// Copies fd <paramref name="stubFd"/> of stub <paramref name="pid"/> into the Sentry (pidfd_getfd);
    /// -errno when the number is out of range or names no open fd.
    /// </summary>
    public static long TakeFd(int pid, long stubFd)
    {
        if (stubFd < 0 || stubFd > int.MaxValue) return -Errno.EBADF;
        long pidfd = RawSyscall.Checked(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) return pidfd;
        long taken = RawSyscall.Checked(SYS_pidfd_getfd, pidfd, stubFd, 0);
        FileDescriptor.Close((int)pidfd);
        return taken;
    }

    /// <summary>
    /// The pid of the process <paramref name="pidfd"/> refers to, when it is a pidfd of a child of
    /// the Sentry that is not yet a stub it owns; -1 otherwise. Asks the kernel (PIDFD_GET_INFO,
    /// Linux 6.13; /proc/self/fdinfo and /proc/PID/stat before that).
    /// </summary>
    public static int UnclaimedChildOf(int pidfd)
    {
        int pid, ppid;
        byte* info = stackalloc byte[64];
        new Span<byte>(info, 64).Clear();
        *(ulong*)info = PIDFD_INFO_PID;
        if (HostFiles.ioctl(pidfd, PIDFD_GET_INFO, info) == 0)
        {
            pid = *(int*)(info + 16);
            ppid = *(int*)(info + 24);
        }
        else if (!ProcInfo(pidfd, out pid, out ppid))
        {
            return -1;
        }
        if (pid <= 0 || pid == SentryPid || ppid != SentryPid || s_stubs.ContainsKey(pid)) return -1;
        return pid;
    }

    /// <summary>The fallback of kernels without PIDFD_GET_INFO: the fdinfo "Pid:" line, the parent from /proc/PID/stat.</summary>
    private static bool ProcInfo(int pidfd, out int pid, out int ppid)
    {
        pid = ppid = -1;
        try
        {
            foreach (string line in File.ReadLines($"/proc/self/fdinfo/{pidfd}"))
                if (line.StartsWith("Pid:", StringComparison.Ordinal) && int.TryParse(line.AsSpan(4).Trim(), out int p)) pid = p;
            if (pid <= 0) return false;
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return rest.Length > 1 && int.TryParse(rest[1], out ppid);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="fd"/> is a unix SOCK_SEQPACKET socket whose peer is the stub process <paramref name="pid"/>.</summary>
    public static bool IsChannelOf(int fd, int pid)
    {
        LinuxStat st;
        if (HostFiles.fstat(fd, &st) != 0 || (st.Mode & S_IFMT) != S_IFSOCK) return false;
        int value = 0, len = 4;
        if (RawSyscall.Checked(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, (nint)(&value), (nint)(&len)) != 0 || value != AF_UNIX) return false;
        len = 4;
        if (RawSyscall.Checked(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, (nint)(&value), (nint)(&len)) != 0 || value != SOCK_SEQPACKET) return false;
        int* cred = stackalloc int[3];
        len = 12;
        if (RawSyscall.Checked(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, (nint)cred, (nint)(&len)) != 0) return false;
        return cred[0] == pid;
    }
}
