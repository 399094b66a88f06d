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

    /// <summary>Starts forwarding for the console on host fd <paramref name="consoleFd"/>.</summary>
    public static unsafe void Forward(Kernel.Kernel kernel, int consoleFd, DebugLog log)
    {
        if (HostIo.GetSid(0) == HostIo.GetPid() && HostFiles.ioctl(consoleFd, TIOCSCTTY, null) < 0)
            log.Write($"boot: console: TIOCSCTTY failed ({HostFiles.Neg()})");
        foreach (var (signal, number) in new[]
        {
            (PosixSignal.SIGINT, Signal.SIGINT), (PosixSignal.SIGQUIT, Signal.SIGQUIT), (PosixSignal.SIGTSTP, Signal.SIGTSTP),
            (PosixSignal.SIGWINCH, Signal.SIGWINCH), (PosixSignal.SIGHUP, Signal.SIGHUP),
        })
        {
            s_registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                ToForeground(kernel, number, log);
            }));
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
