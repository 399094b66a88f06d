namespace RunscNet.Sentry.Kernel;

/// <summary>What a signal does when its disposition is SIG_DFL (signal(7)).</summary>
internal enum DefaultAction
{
    Terminate,
    CoreDump,
    Stop,
    Ignore,
    Continue,
}

/// <summary>Signal numbers, sets and default actions (x86-64 Linux numbering).</summary>
internal static class Signal
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
        SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
        SIGTERM = 15, SIGSTKFLT = 16, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21,
        SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28,
        SIGIO = 29, SIGPWR = 30, SIGSYS = 31, SIGRTMIN = 32;

    /// <summary>Highest signal number.</summary>
    public const int Max = 64;

    /// <summary>The bit of <paramref name="signo"/> in a 64-bit signal set.</summary>
    public static ulong Bit(int signo) => 1UL << (signo - 1);

    /// <summary>Signals that can never be blocked, ignored or caught.</summary>
    public static readonly ulong Unblockable = Bit(SIGKILL) | Bit(SIGSTOP);

    /// <summary>The job-control stop signals.</summary>
    public static readonly ulong StopSet = Bit(SIGSTOP) | Bit(SIGTSTP) | Bit(SIGTTIN) | Bit(SIGTTOU);

    /// <summary>True for 1..64.</summary>
    public static bool IsValid(int signo) => signo >= 1 && signo <= Max;

    /// <summary>True for real-time signals (queued, one entry per send).</summary>
    public static bool IsRealtime(int signo) => signo >= SIGRTMIN;

    /// <summary>The default action of <paramref name="signo"/>.</summary>
    public static DefaultAction DefaultActionOf(int signo) => signo switch
    {
        SIGQUIT or SIGILL or SIGTRAP or SIGABRT or SIGBUS or SIGFPE or SIGSEGV or SIGXCPU or SIGXFSZ or SIGSYS => DefaultAction.CoreDump,
        SIGSTOP or SIGTSTP or SIGTTIN or SIGTTOU => DefaultAction.Stop,
        SIGCHLD or SIGURG or SIGWINCH => DefaultAction.Ignore,
        SIGCONT => DefaultAction.Continue,
        _ => DefaultAction.Terminate,
    };

    /// <summary>Short names for logs (SIGTERM...).</summary>
    public static string Name(int signo) => signo switch
    {
        SIGHUP => "SIGHUP", SIGINT => "SIGINT", SIGQUIT => "SIGQUIT", SIGILL => "SIGILL", SIGTRAP => "SIGTRAP",
        SIGABRT => "SIGABRT", SIGBUS => "SIGBUS", SIGFPE => "SIGFPE", SIGKILL => "SIGKILL", SIGUSR1 => "SIGUSR1",
        SIGSEGV => "SIGSEGV", SIGUSR2 => "SIGUSR2", SIGPIPE => "SIGPIPE", SIGALRM => "SIGALRM", SIGTERM => "SIGTERM",
        SIGCHLD => "SIGCHLD", SIGCONT => "SIGCONT", SIGSTOP => "SIGSTOP", SIGTSTP => "SIGTSTP", SIGTTIN => "SIGTTIN",
        SIGTTOU => "SIGTTOU", SIGWINCH => "SIGWINCH", _ => $"signal {signo}",
    };
}

/// <summary>The flags of sigaction(2).</summary>
internal static class SigActionFlags
{
    public const ulong SA_NOCLDSTOP = 1, SA_NOCLDWAIT = 2, SA_SIGINFO = 4, SA_RESTORER = 0x04000000,
        SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;
}

/// <summary>A signal disposition in the kernel's x86-64 <c>struct sigaction</c> layout.</summary>
internal struct SigAction
{
    /// <summary>SIG_DFL (0), SIG_IGN (1) or the handler address.</summary>
    public ulong Handler;
    /// <summary>SA_* flags.</summary>
    public ulong Flags;
    /// <summary>The sa_restorer trampoline (rt_sigreturn caller).</summary>
    public ulong Restorer;
    /// <summary>Signals blocked while the handler runs.</summary>
    public ulong Mask;

    /// <summary>SIG_DFL.</summary>
    public const ulong Default = 0;
    /// <summary>SIG_IGN.</summary>
    public const ulong Ignore = 1;
}

/// <summary>The dispositions of all signals; shared by threads (CLONE_SIGHAND), copied by fork.</summary>
internal sealed class SignalHandlers
{
    /// <summary>Index = signal number (0 unused).</summary>
    public SigAction[] Actions { get; } = new SigAction[Signal.Max + 1];

    /// <summary>A copy (fork without CLONE_SIGHAND).</summary>
    public SignalHandlers Clone()
    {
        var c = new SignalHandlers();
        Actions.CopyTo(c.Actions, 0);
        return c;
    }

    /// <summary>execve: caught signals go back to SIG_DFL; ignored ones stay ignored.</summary>
    public SignalHandlers ForExec()
    {
        var c = new SignalHandlers();
        for (int i = 1; i <= Signal.Max; i++)
            if (Actions[i].Handler == SigAction.Ignore) c.Actions[i] = new SigAction { Handler = SigAction.Ignore };
        return c;
    }

    /// <summary>True if <paramref name="signo"/> would be discarded on arrival (ignored, or default-ignore).</summary>
    public bool IsIgnored(int signo)
    {
        var a = Actions[signo];
        if (a.Handler == SigAction.Ignore) return signo != Signal.SIGKILL && signo != Signal.SIGSTOP;
        if (a.Handler == SigAction.Default)
        {
            var d = Signal.DefaultActionOf(signo);
            return d == DefaultAction.Ignore;
        }
        return false;
    }
}
