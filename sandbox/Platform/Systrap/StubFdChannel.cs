using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using Tmds.Linux;

namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// Hands host fds to one systrap stub over a unix socket pair made on first use: the stub
/// creates the pair (a host call the Sentry asks for), the Sentry takes one end out of it with
/// pidfd_getfd, and from then on each fd goes over as SCM_RIGHTS that the stub receives with
/// recvmsg into its shared page. The stub never opens anything itself; the Sentry decides which
/// fd it gets, maps it and has it closed again.
/// </summary>
internal sealed unsafe class StubFdChannel : IDisposable
{
    private const long SYS_sendmsg = 46, SYS_recvmsg = 47, SYS_socketpair = 53;
    private const int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000, MSG_CMSG_CLOEXEC = 0x40000000;
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;

    /// <summary>Where in the shared page the socketpair result and recvmsg's buffers go (past the context words).</summary>
    private const int ScratchOffset = 0xE00, PairOffset = ScratchOffset, HeaderOffset = ScratchOffset + 0x10,
        IovOffset = ScratchOffset + 0x50, DataOffset = ScratchOffset + 0x60, ControlOffset = ScratchOffset + 0x70;

    private readonly SystrapContext _context;
    private readonly SharedPage _page;
    private readonly int _stubPid;
    private readonly ulong _pageAddress;
    private int _sentryEnd = -1;
    private long _stubEnd = -1;

    /// <summary>A channel to the stub thread of <paramref name="context"/>, whose shared page is at <paramref name="pageAddress"/> in the stub.</summary>
    public StubFdChannel(SystrapContext context, SharedPage page, int stubPid, ulong pageAddress)
    {
        _context = context;
        _page = page;
        _stubPid = stubPid;
        _pageAddress = pageAddress;
    }

    private ulong StubAddress(int offset) => _pageAddress + (ulong)offset;

    /// <summary>Closes the stub's end (a host call: the context must be stopped), when the stub process outlives this context.</summary>
    public void CloseStubEnd()
    {
        if (_stubEnd >= 0) _context.HostSyscall(RawSyscall.SYS_close, (ulong)_stubEnd);
        _stubEnd = -1;
    }

    private long Open()
    {
        if (_sentryEnd >= 0) return 0;
        long r = _context.HostSyscall(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, StubAddress(PairOffset));
        if (r < 0) return r;
        // Both numbers are in the application-writable page: the end the Sentry takes must be a
        // unix seqpacket socket made by this stub, or the Sentry would send fds somewhere else.
        int ours = _page.Int(PairOffset), theirs = _page.Int(PairOffset + 4);
        long taken = StubIds.TakeFd(_stubPid, ours);
        _context.HostSyscall(RawSyscall.SYS_close, (ulong)ours);
        if (taken >= 0 && !StubIds.IsChannelOf((int)taken, _stubPid))
        {
            FileDescriptor.Close((int)taken);
            _context.KillForgery($"fd channel end {ours}");
            return -Errno.EAGAIN;
        }
        if (taken < 0)
        {
            _context.HostSyscall(RawSyscall.SYS_close, (ulong)theirs);
            return taken;
        }
        _sentryEnd = (int)taken;
        _stubEnd = theirs;
        return 0;
    }

    /// <summary>See <see cref="IStubFdInstaller.InstallFd"/>.</summary>
    public long Install(int hostFd)
    {
        long r = Open();
        if (r < 0) return r;
        // Send: one byte of data, the fd as SCM_RIGHTS.
        byte data = 0;
        var iov = new iovec { iov_base = &data, iov_len = 1 };
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(ulong*)control = 20;               // cmsg_len = CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = SOL_SOCKET;
        *(int*)(control + 12) = SCM_RIGHTS;
        *(int*)(control + 16) = hostFd;
        var header = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = 24 };
        r = RawSyscall.Checked(SYS_sendmsg, _sentryEnd, (long)(nint)(&header), 0);
        if (r < 0) return r;

        // Receive in the stub, with every buffer in its shared page.
        _page.Long(IovOffset) = StubAddress(DataOffset);
        _page.Long(IovOffset + 8) = 1;
        for (int i = 0; i < 24; i += 8) _page.Long(ControlOffset + i) = 0;
        _page.Long(HeaderOffset) = 0;                             // msg_name
        _page.Long(HeaderOffset + 8) = 0;                         // msg_namelen
        _page.Long(HeaderOffset + 16) = StubAddress(IovOffset);   // msg_iov
        _page.Long(HeaderOffset + 24) = 1;                        // msg_iovlen
        _page.Long(HeaderOffset + 32) = StubAddress(ControlOffset);
        _page.Long(HeaderOffset + 40) = 24;                       // msg_controllen
        _page.Long(HeaderOffset + 48) = 0;                        // msg_flags
        r = _context.HostSyscall(SYS_recvmsg, (ulong)_stubEnd, StubAddress(HeaderOffset), MSG_CMSG_CLOEXEC);
        if (r < 0) return r;
        if (_page.Int(ControlOffset + 8) != SOL_SOCKET || _page.Int(ControlOffset + 12) != SCM_RIGHTS) return -Errno.EIO;
        return _page.Int(ControlOffset + 16);
    }

    public void Dispose()
    {
        if (_sentryEnd >= 0) FileDescriptor.Close(_sentryEnd);
        _sentryEnd = -1;
    }
}
