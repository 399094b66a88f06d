using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Host;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// The signals a terminal raises (tty_ioctl(4), termios(3): ^C SIGINT, ^\ SIGQUIT, ^Z SIGTSTP, a
/// resize SIGWINCH, a hang-up SIGHUP) go to the host process group in the terminal's foreground,
/// and no application process is a host process. Boot makes itself that group for the console
/// (it takes the console as its controlling terminal when it leads its own session, i.e. with
/// --console-socket; with the caller's terminal it already is in the foreground group) and hands
/// each such signal to the foreground process group the Sentry keeps for the console, as Linux
/// would deliver it there.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class TerminalSignals
{
    private const ulong TIOCSCTTY = 0x540E;
    private static readonly List<PosixSignalRegistration> s_registrations = new();

    /// <summary>The signals a terminal raises, as .NET names them and by their Linux number.</summary>
    private static readonly (PosixSignal Posix, int Number)[] s_terminalSignals =
    [
        (PosixSignal.SIGINT, Signal.SIGINT), (PosixSignal.SIGQUIT, Signal.SIGQUIT), (PosixSignal.SIGTSTP, Signal.SIGTSTP),
        (PosixSignal.SIGWINCH, Signal.SIGWINCH), (PosixSignal.SIGHUP, Signal.SIGHUP),
    ];

    /// <summary>Starts forwarding for the console on host fd <paramref name="consoleFd"/>.</summary>
    public static unsafe void Forward(Kernel.Kernel kernel, int consoleFd, DebugLog log)
    {
        if (HostIo.GetSid(0) == HostIo.GetPid() && HostFiles.ioctl(consoleFd, TIOCSCTTY, null) < 0)
            log.Write($"boot: console: TIOCSCTTY failed ({HostFiles.Neg()})");
        UnignoreInherited(log);
        foreach (var (signal, number) in s_terminalSignals)
        {
            s_registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                ToForeground(kernel, number, log);
            }));
        }
    }

    /// <summary>
    /// A caller started from a non-interactive shell with <c>&amp;</c> (or under nohup) hands boot
    /// SIGINT and SIGQUIT (SIGHUP) set to SIG_IGN, and .NET keeps an inherited SIG_IGN: it never
    /// installs its handler, so the console's ^C would be dropped on the host side. Those
    /// dispositions are the caller's wish for the caller's processes, not for the container's
    /// terminal: boot takes the defaults back before it registers (rt_sigaction(2)).
    /// </summary>
    private static unsafe void UnignoreInherited(DebugLog log)
    {
        const long SYS_rt_sigaction = 13;
        const ulong SIG_IGN = 1;
        // struct kernel_sigaction: handler, flags, restorer, mask (8 bytes); dfl stays all-zero (SIG_DFL).
        ulong* old = stackalloc ulong[4];
        ulong* dfl = stackalloc ulong[4];
        new Span<ulong>(dfl, 4).Clear();
        foreach (var (_, signal) in s_terminalSignals)
        {
            if (RawSyscall.Checked(SYS_rt_sigaction, signal, 0, (long)old, 8) < 0 || old[0] != SIG_IGN) continue;
            long r = RawSyscall.Checked(SYS_rt_sigaction, signal, (long)dfl, 0, 8);
            log.Write(r < 0 ? $"boot: console: signal {signal} stays ignored ({r})" : $"boot: console: signal {signal} was ignored by the caller; default again");
        }
    }

    private static void ToForeground(Kernel.Kernel kernel, int signal, DebugLog log)
    {
        ulong console = DeviceRegistry.MakeDev(DevptsFileSystem.PtySlaveMajor, 0);
        int pgid = HostFileDescription.ForegroundProcessGroupOf(console);
        if (pgid <= 0 || !kernel.SignalProcessGroup(pgid, signal))
            log.Write($"boot: console signal {signal}: no foreground process group");
    }
}
