using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Vfs.Dev;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.StateFile.Checkpoint;

namespace RunscNet.Sentry.Checkpoint;

/// <summary>
/// The container's console across a checkpoint. The line discipline is the host pty's, so its
/// settings (termios) and window size are read from the console fd and written onto the new
/// sandbox's console, which `restore --console-socket` made exactly as `create` does; the
/// job-control state (session, foreground process group) is the Sentry's own. Bytes still queued
/// in the old pty (typed and not read, written and not yet drained by the console's reader) stay
/// with the old terminal: its master is the caller's (conmon's), and reading them out would take
/// them from it (CRIU saves queued bytes only of pty pairs whose both ends it dumps).
/// </summary>
internal static class ConsoleState
{
    private const ulong TCGETS = 0x5401, TCSETS = 0x5402, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;

    /// <summary>sizeof(struct termios) as TCGETS/TCSETS take it, and sizeof(struct winsize).</summary>
    public const int TermiosSize = 36, WindowSizeSize = 8;

    /// <summary>The console on host fd <paramref name="consoleFd"/> (terminal 0 of devpts) as the image keeps it.</summary>
    public static unsafe ConsoleImage Save(int consoleFd)
    {
        var termios = new byte[64];
        var size = new byte[WindowSizeSize];
        fixed (byte* t = termios)
            if (HostFiles.ioctl(consoleFd, TCGETS, t) < 0) throw new CheckpointRefusedException($"checkpoint: reading the console's settings (TCGETS) failed: errno {-HostFiles.Neg()}");
        fixed (byte* w = size)
            if (HostFiles.ioctl(consoleFd, TIOCGWINSZ, w) < 0) throw new CheckpointRefusedException($"checkpoint: reading the console's window size failed: errno {-HostFiles.Neg()}");
        var image = new ConsoleImage { Termios = termios[..TermiosSize], WindowSize = size };
        if (DevptsFileSystem.Instance.ByNumber(0) is { Persistent: true } node)
            (image.Session, image.ForegroundProcessGroup) = HostFileDescription.JobControlOf(node);
        return image;
    }

    /// <summary>
    /// Checks <paramref name="image"/> (hostile input) against the processes restored
    /// (<paramref name="liveProcesses"/>: pid → session, process group) and puts it on the new
    /// console, host fd <paramref name="consoleFd"/>.
    /// </summary>
    public static unsafe void Restore(int consoleFd, ConsoleImage image, IReadOnlyDictionary<int, (int Session, int ProcessGroup)> liveProcesses)
    {
        if (image.Termios.Length != TermiosSize || image.WindowSize.Length != WindowSizeSize) throw new InvalidOperationException("restore: the console record is malformed");
        // The session must be one of the image's processes'; the foreground group may be one that
        // has gone meanwhile (Linux keeps a stale one: signals to it reach nobody), but a pid.
        if (image.Session < 0 || (image.Session > 0 && !liveProcesses.Values.Any(p => p.Session == image.Session)))
            throw new InvalidOperationException($"restore: the console is the controlling terminal of session {image.Session}, which is not in the image");
        if (image.Session > 0 && (image.ForegroundProcessGroup <= 0 || image.ForegroundProcessGroup >= Kernel.Kernel.PidMax))
            throw new InvalidOperationException($"restore: the console's foreground process group {image.ForegroundProcessGroup} is invalid");
        var termios = new byte[64];
        image.Termios.CopyTo(termios, 0);
        fixed (byte* t = termios)
            if (HostFiles.ioctl(consoleFd, TCSETS, t) < 0) throw new InvalidOperationException($"restore: setting the console's saved settings (TCSETS) failed: errno {-HostFiles.Neg()}");
        fixed (byte* w = image.WindowSize)
            if (HostFiles.ioctl(consoleFd, TIOCSWINSZ, w) < 0) throw new InvalidOperationException($"restore: setting the console's window size failed: errno {-HostFiles.Neg()}");
        if (DevptsFileSystem.Instance.ByNumber(0) is not { Persistent: true } node) throw new InvalidOperationException("restore: the new sandbox has no console");
        HostFileDescription.SetJobControl(node, image.Session, image.Session > 0 ? image.ForegroundProcessGroup : 0);
    }
}
