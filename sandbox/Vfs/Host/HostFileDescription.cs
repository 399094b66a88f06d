using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Vfs.Host;

/// <summary>
/// A file description over a host fd the sandbox was given (the container's stdio: a pipe, a
/// tty, /dev/null or a log file). I/O uses the host fd's own offset (read/write, as the app
/// would see natively). Reads and writes that would block wait on the <see cref="HostFdPoller"/>
/// queue, so signals interrupt them; termios ioctls pass through to the host tty.
/// </summary>
internal sealed class HostFileDescription : FileDescription
{
    private int _fd;
    private readonly uint _hostMode;
    private readonly WaitQueue? _queue;
    private readonly bool _isTty;

    private HostFileDescription(int fd, uint hostMode, int flags, bool isTty)
    {
        _fd = fd;
        _hostMode = hostMode;
        StatusFlags = flags;
        _isTty = isTty;
        _queue = LinuxMode.IsReg(hostMode) ? null : HostFdPoller.Instance.QueueFor(fd);
    }

    /// <summary>The /dev/pts node of this terminal while this description holds it, or null.</summary>
    private Dev.TerminalInode? _terminalNode;

    /// <summary>For a pty master opened through ptmx: its slave's /dev/pts node (held while this is open).</summary>
    private Dev.TerminalInode? _slaveNode;

    /// <summary>Opens this pty master's slave on the host (TIOCGPTPEER) with <paramref name="flags"/>; a host fd or -1.</summary>
    internal int OpenPeer(int flags)
    {
        int fd = Volatile.Read(ref _fd);
        return fd < 0 ? -1 : HostFiles.ioctlInt(fd, TIOCGPTPEER, flags);
    }

    /// <summary>Makes this description the master of <paramref name="slave"/> (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER answer for it).</summary>
    internal void MakeMasterOf(Dev.TerminalInode slave, Kernel.Kernel kernel)
    {
        slave.Acquire();
        _slaveNode = slave;
        _kernel = kernel;
    }

    /// <summary>For a pty master: the kernel whose session leader its hang-up signals.</summary>
    private Kernel.Kernel? _kernel;

    /// <summary>
    /// Wraps host fd <paramref name="fd"/> (which the description then owns and closes on
    /// release). The access mode is taken from the host fd's flags.
    /// </summary>
    public static unsafe HostFileDescription FromHostFd(int fd)
    {
        LinuxStat st;
        uint mode = HostFiles.fstat(fd, &st) == 0 ? st.Mode : LinuxMode.S_IFCHR | 0x1b6;
        int fl = HostFiles.fcntl(fd, 3 /* F_GETFL */, 0);
        if (fl < 0) fl = OpenFlags.O_RDWR;
        byte* termios = stackalloc byte[64];
        bool tty = HostFiles.ioctl(fd, TCGETS, termios) == 0;
        var f = new HostFileDescription(fd, mode, fl & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND), tty);
        if (tty && Dev.DevptsFileSystem.Instance.ByHostDevice(st.Rdev) is { } node)
        {
            node.Acquire();
            f._terminalNode = node;
        }
        return f;
    }

    /// <summary>True if the host fd is a terminal.</summary>
    public bool IsTty => _isTty;

    /// <summary>
    /// One of the stdio of a process started by `runsc-net exec` (the exec caller's host file):
    /// a checkpoint saves it as /dev/null, since the caller is gone after a restore.
    /// </summary>
    public bool ExecStdio { get; set; }

    /// <summary>The host fd this description wraps (-1 once released), for a checkpoint to identify the stdio it is.</summary>
    internal int RawHostFd => Volatile.Read(ref _fd);

    /// <summary>Job-control state of one host terminal, shared by every description of it.</summary>
    private sealed class TerminalState
    {
        public int ForegroundProcessGroup = 1;
        public int Session = 1;
        /// <summary>Set when a sandbox pty's master closed (TTY_OTHER_CLOSED): a waiting read fails with EIO.</summary>
        public volatile bool OtherClosed;
    }

    private static readonly Dictionary<(ulong Dev, ulong Ino), TerminalState> s_terminals = new();

    private TerminalState Terminal
    {
        get
        {
            // A pty master's job-control ioctls answer for its slave, as on Linux.
            if (_slaveNode is { } slave) return StateOf(slave.Rdev, slave.Ino);
            Stat(out var st);
            return StateOf(st.Rdev, st.Ino);
        }
    }

    private static TerminalState StateOf(ulong rdev, ulong ino)
    {
        lock (s_terminals)
        {
            if (!s_terminals.TryGetValue((rdev, ino), out var state)) s_terminals[(rdev, ino)] = state = new TerminalState();
            return state;
        }
    }

    /// <summary>Makes this terminal the controlling terminal of <paramref name="session"/> with <paramref name="processGroup"/> in the foreground (TIOCSCTTY).</summary>
    public void MakeControllingTerminal(int session, int processGroup)
    {
        var term = Terminal;
        term.Session = session;
        term.ForegroundProcessGroup = processGroup;
    }

    /// <summary>
    /// Starts the job-control state of a new terminal (a ptmx pair's slave, container identity
    /// <paramref name="rdev"/>, <paramref name="ino"/>) as no session's controlling terminal,
    /// replacing what an earlier terminal with that identity left.
    /// </summary>
    internal static void StartTerminal(ulong rdev, ulong ino)
    {
        lock (s_terminals) s_terminals[(rdev, ino)] = new TerminalState { Session = 0 };
    }

    /// <summary>The session (0: none) and foreground process group the Sentry keeps for terminal <paramref name="node"/> (a checkpoint saves them).</summary>
    internal static (int Session, int ForegroundProcessGroup) JobControlOf(Dev.TerminalInode node)
    {
        var term = StateOf(node.Rdev, node.Ino);
        lock (s_terminals) return (term.Session, term.ForegroundProcessGroup);
    }

    /// <summary>Gives terminal <paramref name="node"/> the job-control state a checkpoint saved (restore).</summary>
    internal static void SetJobControl(Dev.TerminalInode node, int session, int foregroundProcessGroup)
    {
        var term = StateOf(node.Rdev, node.Ino);
        lock (s_terminals)
        {
            term.Session = session;
            term.ForegroundProcessGroup = foregroundProcessGroup;
        }
    }

    /// <summary>
    /// open(2) of a terminal without O_NOCTTY by a session leader that has no controlling terminal
    /// makes it that session's, if no session has it yet (tty_open_proc_set_tty).
    /// </summary>
    internal void AcquireOnOpen(Task task)
    {
        var p = Proc.ProcFileSystem.Describe(task);
        if (p.Session != p.Pid || ControllingTerminalOf(p.Session) != null) return;
        var term = Terminal;
        lock (s_terminals)
        {
            if (term.Session != 0) return;
            term.Session = p.Session;
            term.ForegroundProcessGroup = p.ProcessGroup;
        }
    }

    /// <summary>
    /// The device number (as the container sees it) of the controlling terminal of
    /// <paramref name="session"/>, or null if the session has none.
    /// </summary>
    public static ulong? ControllingTerminalOf(int session) => ControllingTerminalOf(session, out _);

    /// <summary>As <see cref="ControllingTerminalOf(int)"/>, with the terminal's foreground process group (-1 if none).</summary>
    public static ulong? ControllingTerminalOf(int session, out int foregroundProcessGroup)
    {
        lock (s_terminals)
        {
            foreach (var (key, state) in s_terminals)
            {
                if (state.Session != session) continue;
                foregroundProcessGroup = state.ForegroundProcessGroup;
                return key.Dev;
            }
        }
        foregroundProcessGroup = -1;
        return null;
    }

    /// <summary>
    /// The foreground process group the Sentry keeps for the terminal whose container-side device
    /// number is <paramref name="rdev"/> (signals the host terminal raises go there), or -1.
    /// </summary>
    public static int ForegroundProcessGroupOf(ulong rdev)
    {
        lock (s_terminals)
        {
            foreach (var (key, state) in s_terminals)
                if (key.Dev == rdev) return state.ForegroundProcessGroup;
        }
        return -1;
    }

    /// <summary>The foreground process group of the terminal (TIOCGPGRP/TIOCSPGRP), kept by the Sentry per terminal.</summary>
    public int ForegroundProcessGroup
    {
        get => Terminal.ForegroundProcessGroup;
        set => Terminal.ForegroundProcessGroup = value;
    }

    private const ulong TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TCSBRK = 0x5409,
        TCXONC = 0x540A, TCFLSH = 0x540B, TIOCSCTTY = 0x540E, TIOCGPGRP = 0x540F, TIOCSPGRP = 0x5410,
        TIOCOUTQ = 0x5411, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541B, TIOCNOTTY = 0x5422,
        TIOCGSID = 0x5429, TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGPTPEER = 0x5441;

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        if (!Readable) return -Errno.EBADF;
        if (destination.Length == 0) return 0;
        bool waited = false;
        while (true)
        {
            if (_queue == null || (HostFdPoller.PollNow(_fd, PollEvents.POLLIN) != 0))
            {
                long n = ReadHost(destination);
                // A terminal read that was waiting when the other side hung up fails with EIO
                // (n_tty_read sees TTY_OTHER_CLOSED); one begun after the hang-up reads 0, which
                // is all the host's hung-up file tells either.
                if (n == 0 && waited && _isTty && HungUp) return -Errno.EIO;
                if (n != -Errno.EAGAIN) return n;
            }
            if (NonBlocking) return -Errno.EAGAIN;
            waited = true;
            if (task.Block(() => HostFdPoller.PollNow(_fd, PollEvents.POLLIN) != 0, _queue!) == BlockResult.Interrupted)
            {
                // As n_tty_read, the hang-up is checked before the pending signal.
                if (_isTty && HungUp) return -Errno.EIO;
                return -Errno.ERESTARTSYS;
            }
        }
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source)
    {
        if (!Writable) return -Errno.EBADF;
        long total = 0;
        while (total < source.Length || source.Length == 0)
        {
            if (_queue != null && HostFdPoller.PollNow(_fd, PollEvents.POLLOUT) == 0)
            {
                if (NonBlocking) return total > 0 ? total : -Errno.EAGAIN;
                if (task.Block(() => HostFdPoller.PollNow(_fd, PollEvents.POLLOUT) != 0, _queue) == BlockResult.Interrupted)
                    return total > 0 ? total : -Errno.ERESTARTSYS;
            }
            long n = WriteHost(source[(int)total..]);
            if (n < 0)
            {
                if (n == -Errno.EAGAIN) continue;
                return total > 0 ? total : n;
            }
            if (_slaveNode != null) RaiseInputSignals(task, source.Slice((int)total, (int)n));
            total += n;
            if (source.Length == 0) break;
        }
        return total;
    }

    /// <inheritdoc/>
    public override unsafe long PRead(Task task, Span<byte> destination, long offset)
    {
        if (!LinuxMode.IsReg(_hostMode)) return -Errno.ESPIPE;
        fixed (byte* p = destination)
        {
            nint n = HostFiles.pread(_fd, p, destination.Length, offset);
            return n < 0 ? HostFiles.Neg() : n;
        }
    }

    /// <inheritdoc/>
    public override unsafe long PWrite(Task task, ReadOnlySpan<byte> source, long offset)
    {
        if (!LinuxMode.IsReg(_hostMode)) return -Errno.ESPIPE;
        fixed (byte* p = source)
        {
            nint n = HostFiles.pwrite(_fd, p, source.Length, offset);
            return n < 0 ? HostFiles.Neg() : n;
        }
    }

    /// <inheritdoc/>
    public override long Seek(Task task, long offset, int whence)
    {
        long r = HostFiles.lseek(_fd, offset, whence);
        return r < 0 ? HostFiles.Neg() : r;
    }

    /// <inheritdoc/>
    public override unsafe int Stat(out InodeAttr attr)
    {
        LinuxStat st;
        if (HostFiles.fstat(_fd, &st) < 0)
        {
            attr = default;
            return HostFiles.Neg();
        }
        attr = InodeAttr.FromHost(st);
        // A terminal of the sandbox's devpts has the identity of its /dev/pts/N node.
        if (_isTty) Dev.DevptsFileSystem.Instance.ByHostDevice(st.Rdev)?.Identify(ref attr);
        return 0;
    }

    /// <inheritdoc/>
    public override int Sync(Task task, bool dataOnly)
    {
        if (!LinuxMode.IsReg(_hostMode)) return -Errno.EINVAL;
        return HostFiles.fsync(_fd) < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override int Truncate(Task task, long length)
    {
        if (!LinuxMode.IsReg(_hostMode) || !Writable) return -Errno.EINVAL;
        return HostFiles.ftruncate(_fd, length) < 0 ? HostFiles.Neg() : 0;
    }

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        if (_queue == null) return base.Readiness(mask);
        return (short)(HostFdPoller.PollNow(_fd, mask) & (mask | PollEvents.POLLERR | PollEvents.POLLHUP));
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => _queue;

    /// <summary>The terminal's name in the container (/dev/pts/N), as /proc/self/fd shows it.</summary>
    private string TerminalName
    {
        get
        {
            Stat(out var st);
            return Dev.DeviceRegistry.Major(st.Rdev) == Dev.DevptsFileSystem.PtySlaveMajor
                ? "/dev/pts/" + Dev.DeviceRegistry.Minor(st.Rdev).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : "/dev/pts/0";
        }
    }

    /// <inheritdoc/>
    public override string AnonymousName
    {
        get
        {
            Stat(out var st);
            return (_hostMode & LinuxMode.S_IFMT) switch
            {
                LinuxMode.S_IFIFO => $"pipe:[{st.Ino}]",
                LinuxMode.S_IFSOCK => $"socket:[{st.Ino}]",
                LinuxMode.S_IFCHR => _isTty ? TerminalName : "/dev/null",
                _ => $"/host-file:[{st.Ino}]",
            };
        }
    }

    /// <inheritdoc/>
    public override unsafe long Ioctl(Task task, uint request, ulong argument)
    {
        switch (request)
        {
            case (uint)FIONREAD:
                {
                    int avail;
                    if (HostFiles.ioctl(_fd, FIONREAD, &avail) < 0) return HostFiles.Neg();
                    return task.Memory.CopyOutStruct(argument, avail);
                }
        }
        if (!_isTty) return -Errno.ENOTTY;
        if (_slaveNode is { } slave)
        {
            switch (request)
            {
                case (uint)TIOCGPTN:
                    return task.Memory.CopyOutStruct(argument, slave.Number);
                case (uint)TIOCSPTLCK:
                    {
                        int err = task.Memory.CopyInStruct(argument, out int _);
                        return err != 0 ? err : 0;
                    }
                case (uint)TIOCGPTPEER:
                    {
                        int flags = (int)argument;
                        if ((flags & ~(OpenFlags.O_ACCMODE | OpenFlags.O_NOCTTY | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC)) != 0) return -Errno.EINVAL;
                        var peer = slave.Reopen(flags);
                        if (peer == null) return -Errno.EIO;
                        return task.Fds.InstallNew(peer, (flags & OpenFlags.O_CLOEXEC) != 0);
                    }
            }
        }
        switch (request)
        {
            case (uint)TCGETS:
                return PassOut(task, request, argument, 36);
            case (uint)TCSETS:
            case (uint)TCSETSW:
            case (uint)TCSETSF:
                return PassIn(task, request, argument, 36);
            case (uint)TIOCGWINSZ:
                return PassOut(task, request, argument, 8);
            case (uint)TIOCSWINSZ:
                return SetWindowSize(task, argument);
            case (uint)TCFLSH:
            case (uint)TCXONC:
            case (uint)TCSBRK:
                return HostFiles.ioctl(_fd, request, (void*)argument) < 0 ? HostFiles.Neg() : 0;
            case (uint)TIOCOUTQ:
                {
                    int q;
                    if (HostFiles.ioctl(_fd, TIOCOUTQ, &q) < 0) return HostFiles.Neg();
                    return task.Memory.CopyOutStruct(argument, q);
                }
            case (uint)TIOCGPGRP:
                return task.Memory.CopyOutStruct(argument, ForegroundProcessGroup);
            case (uint)TIOCSPGRP:
                {
                    int err = task.Memory.CopyInStruct(argument, out int pgid);
                    if (err != 0) return err;
                    if (pgid < 0) return -Errno.EINVAL;
                    ForegroundProcessGroup = pgid;
                    return 0;
                }
            case (uint)TIOCGSID:
                return task.Memory.CopyOutStruct(argument, Terminal.Session);
            case (uint)TIOCSCTTY:
                {
                    // The calling session takes the terminal; its process group becomes the foreground.
                    var p = Proc.ProcFileSystem.Describe(task);
                    MakeControllingTerminal(p.Session, p.ProcessGroup);
                    return 0;
                }
            case (uint)TIOCNOTTY:
                return 0;
            default:
                return -Errno.ENOTTY;
        }
    }

    /// <summary>True once the other side of this terminal hung up.</summary>
    private bool HungUp =>
        (_terminalNode is { IsPair: true } && Terminal.OtherClosed)
        || (HostFdPoller.PollNow(_fd, PollEvents.POLLIN) & PollEvents.POLLHUP) != 0;

    private const uint ISIG = 0x1;
    private const int VINTR = 0, VQUIT = 1, VSUSP = 10, TermiosLflag = 12, TermiosCc = 17;

    /// <summary>
    /// Input written to a pty master reaches the slave's line discipline; with ISIG its INTR, QUIT
    /// and SUSP characters send SIGINT, SIGQUIT and SIGTSTP to the slave's foreground process group
    /// (n_tty isig). The host's line discipline drops those characters and flushes, but only knows
    /// host process groups, so the Sentry sends the signals to its own.
    /// </summary>
    private unsafe void RaiseInputSignals(Task task, ReadOnlySpan<byte> written)
    {
        byte* termios = stackalloc byte[64];
        if (HostFiles.ioctl(_fd, TCGETS, termios) < 0) return;
        if ((*(uint*)(termios + TermiosLflag) & ISIG) == 0) return;
        byte intr = termios[TermiosCc + VINTR], quit = termios[TermiosCc + VQUIT], susp = termios[TermiosCc + VSUSP];
        foreach (byte b in written)
        {
            // _POSIX_VDISABLE (0) disables a character.
            if (b == 0) continue;
            int signal = b == intr ? Signal.SIGINT : b == quit ? Signal.SIGQUIT : b == susp ? Signal.SIGTSTP : 0;
            if (signal != 0) SignalForeground(task.Kernel, signal);
        }
    }

    /// <summary>Sends <paramref name="signal"/> to the foreground process group of this terminal, if it is some session's controlling terminal.</summary>
    private void SignalForeground(Kernel.Kernel kernel, int signal)
    {
        var term = Terminal;
        int pgid;
        lock (s_terminals)
        {
            if (term.Session == 0) return;
            pgid = term.ForegroundProcessGroup;
        }
        if (pgid > 0) kernel.SignalProcessGroup(pgid, signal);
    }

    /// <summary>True for either side of a pty pair the sandbox made (not the console, whose signals the host raises for boot).</summary>
    private bool IsSandboxPty => _slaveNode != null || _terminalNode is { IsPair: true };

    /// <summary>
    /// TIOCSWINSZ: sets the window size and, when it changed, sends SIGWINCH to the foreground
    /// process group (tty_do_resize).
    /// </summary>
    private unsafe long SetWindowSize(Task task, ulong argument)
    {
        byte* old = stackalloc byte[8];
        byte* size = stackalloc byte[8];
        int err = task.Memory.CopyIn(argument, new Span<byte>(size, 8));
        if (err != 0) return err;
        bool known = HostFiles.ioctl(_fd, TIOCGWINSZ, old) == 0;
        if (HostFiles.ioctl(_fd, TIOCSWINSZ, size) < 0) return HostFiles.Neg();
        if (IsSandboxPty && (!known || *(ulong*)old != *(ulong*)size)) SignalForeground(task.Kernel, Signal.SIGWINCH);
        return 0;
    }

    /// <summary>
    /// The last close of a pty master hangs up its slave (pty_close, tty_vhangup): the host ends
    /// the slave's reads and writes; the session whose controlling terminal it was loses it, and
    /// its leader gets SIGHUP and SIGCONT (tty_signal_session_leader).
    /// </summary>
    private static void HangUp(Kernel.Kernel? kernel, Dev.TerminalInode slave)
    {
        var term = StateOf(slave.Rdev, slave.Ino);
        term.OtherClosed = true;
        int session;
        lock (s_terminals)
        {
            session = term.Session;
            term.Session = 0;
        }
        if (session <= 0 || kernel == null) return;
        if (kernel.ThreadGroupByPid(session) is { Zombie: false } leader)
        {
            kernel.SendSignalToGroup(leader, SignalInfo.FromKernel(Signal.SIGHUP), SignalSource.Kernel);
            kernel.SendSignalToGroup(leader, SignalInfo.FromKernel(Signal.SIGCONT), SignalSource.Kernel);
        }
    }

    private unsafe long PassOut(Task task, uint request, ulong argument, int size)
    {
        byte* buf = stackalloc byte[64];
        if (HostFiles.ioctl(_fd, request, buf) < 0) return HostFiles.Neg();
        return task.Memory.CopyOut(argument, new ReadOnlySpan<byte>(buf, size));
    }

    private unsafe long PassIn(Task task, uint request, ulong argument, int size)
    {
        byte* buf = stackalloc byte[64];
        int err = task.Memory.CopyIn(argument, new Span<byte>(buf, size));
        if (err != 0) return err;
        return HostFiles.ioctl(_fd, request, buf) < 0 ? HostFiles.Neg() : 0;
    }

    private unsafe long ReadHost(Span<byte> destination)
    {
        fixed (byte* p = destination)
        {
            while (true)
            {
                nint n = HostFiles.read(_fd, p, destination.Length);
                if (n >= 0) return n;
                int e = HostFiles.Neg();
                if (e != -Errno.EINTR) return e;
            }
        }
    }

    private unsafe long WriteHost(ReadOnlySpan<byte> source)
    {
        fixed (byte* p = source)
        {
            while (true)
            {
                nint n = HostFiles.write(_fd, p, source.Length);
                if (n >= 0) return n;
                int e = HostFiles.Neg();
                if (e != -Errno.EINTR) return e;
            }
        }
    }

    /// <inheritdoc/>
    public override int Reopen(Task task, int flags, out FileDescription? file)
    {
        file = null;
        int acc = flags & OpenFlags.O_ACCMODE;
        // The host fd's own access mode bounds what a re-open may ask for.
        if ((acc != OpenFlags.O_WRONLY && !Readable) || (acc != OpenFlags.O_RDONLY && !Writable)) return -Errno.EACCES;
        int fd = HostFiles.dup(_fd);
        if (fd < 0) return HostFiles.Neg();
        HostFiles.fcntl(fd, 2 /* F_SETFD */, 1);
        var f = FromHostFd(fd);
        f.StatusFlags = flags & ~OpenFlags.O_CLOEXEC;
        file = f;
        return 0;
    }

    /// <inheritdoc/>
    public override void Release()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        // A master's hang-up signals are queued before its slave's readers can see the host's
        // hang-up, as tty_vhangup signals the session before it wakes them.
        var slave = Interlocked.Exchange(ref _slaveNode, null);
        if (slave != null) HangUp(_kernel, slave);
        if (_queue != null) HostFdPoller.Instance.Forget(fd);
        FileDescriptor.Close(fd);
        Interlocked.Exchange(ref _terminalNode, null)?.Release();
        slave?.Release();
    }
}
