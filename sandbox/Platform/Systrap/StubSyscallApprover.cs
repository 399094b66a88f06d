using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// Approves the rare host calls a stub makes that create kernel objects (clone, socketpair;
/// memfd_create is refused outright: the Sentry makes page memfds itself). The application can jump to any <c>syscall</c> instruction of the stub's code and
/// so reach every call the stub filter allows from there; these three answer
/// SECCOMP_RET_USER_NOTIF instead, and this thread lets one through (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
/// only when the calling host thread is one the Sentry has just given a command that needs it
/// (a fork, a new thread, a host call of that number), once per command. The caller's tid in
/// the notification comes from the kernel, not from application memory. Anything else fails with
/// EPERM, so the application cannot make host processes, threads or sockets of its own.
/// Each stub installs its filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and reports the listener
/// fd in rax of its "ready" stop (before any application instruction); forked stubs share it.
/// </summary>
internal sealed unsafe class StubSyscallApprover
{
    private const long SYS_clone = 56, SYS_socketpair = 53;
    private const ulong SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100, SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101;
    private const uint SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
    private const ulong SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;
    private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLLIN = 1, EPOLLERR = 8, EPOLLHUP = 0x10;
    private const int EPERM = 1, EINTR = 4, ENOENT = 2;

    /// <summary>Bits of what a thread may do now.</summary>
    public const int Clone = 1, Socketpair = 4;

    private readonly object _lock = new();
    private readonly Dictionary<int, int> _expected = new();
    private readonly int _epoll;
    private Thread? _thread;

    public StubSyscallApprover()
    {
        _epoll = HostFiles.epoll_create1(0x80000 /* EPOLL_CLOEXEC */);
        if (_epoll < 0) throw new InvalidOperationException($"epoll_create1: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The approval bit of host call <paramref name="nr"/>, 0 when it needs none.</summary>
    public static int BitOf(long nr) => nr switch
    {
        SYS_clone => Clone,
        SYS_socketpair => Socketpair,
        _ => 0,
    };

    /// <summary>Serves the notifications of listener <paramref name="fd"/> (owned from now on; closed when no stub uses it).</summary>
    public void Watch(int fd)
    {
        // Linux 6.6+: hand the CPU straight from the notifying stub to this thread and back (as
        // gVisor's systrap does), instead of two ordinary wake-ups per approved call.
        ulong sync = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
        HostFiles.ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, &sync);
        var ev = new EpollEvent { Events = EPOLLIN, Data = (ulong)fd };
        if (HostFiles.epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev) < 0)
        {
            FileDescriptor.Close(fd);
            throw new InvalidOperationException($"watching a stub's seccomp listener: errno {Marshal.GetLastPInvokeError()}");
        }
        lock (_lock)
        {
            if (_thread != null) return;
            _thread = new Thread(Serve) { IsBackground = true, Name = "stub-approver" };
            _thread.Start();
        }
    }

    /// <summary>Host thread <paramref name="tid"/> is about to run a command that makes the calls in <paramref name="bits"/>.</summary>
    public void Expect(int tid, int bits)
    {
        if (bits == 0) return;
        lock (_lock) _expected[tid] = bits;
    }

    /// <summary>The command of <paramref name="tid"/> is over: nothing more is approved for it.</summary>
    public void Done(int tid)
    {
        lock (_lock) _expected.Remove(tid);
    }

    private bool Approve(int tid, long nr)
    {
        int bit = BitOf(nr);
        lock (_lock)
        {
            if (bit == 0 || !_expected.TryGetValue(tid, out int bits) || (bits & bit) == 0) return false;
            _expected[tid] = bits & ~bit;   // once per command
            return true;
        }
    }

    private void Serve()
    {
        var events = stackalloc EpollEvent[16];
        var notif = stackalloc byte[80];
        var resp = stackalloc byte[24];
        while (true)
        {
            int n = HostFiles.epoll_wait(_epoll, events, 16, -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == EINTR) continue;
                return;
            }
            for (int i = 0; i < n; i++)
            {
                int fd = (int)events[i].Data;
                if ((events[i].Events & EPOLLIN) == 0 && (events[i].Events & (EPOLLHUP | EPOLLERR)) != 0)
                {
                    // Every stub of this filter is gone.
                    HostFiles.epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, null);
                    FileDescriptor.Close(fd);
                    continue;
                }
                new Span<byte>(notif, 80).Clear();
                if (HostFiles.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notif) < 0) continue;   // ENOENT: the caller was killed meanwhile
                ulong id = *(ulong*)notif;
                int tid = *(int*)(notif + 8);
                int nr = *(int*)(notif + 16);
                bool ok = Approve(tid, nr);
                new Span<byte>(resp, 24).Clear();
                *(ulong*)resp = id;
                if (ok) *(uint*)(resp + 20) = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                else *(int*)(resp + 16) = -EPERM;
                if (HostFiles.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && Marshal.GetLastPInvokeError() != ENOENT)
                    StubIds.Log.Write($"systrap: answering a stub's seccomp notification: errno {Marshal.GetLastPInvokeError()}");
                if (!ok) StubIds.Log.Write($"systrap: refused host call {nr} from stub thread {tid}: no Sentry command asked for it");
            }
        }
    }
}
