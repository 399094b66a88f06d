using Tmds.Linux;
using static RunscNet.LinuxInterop.PollEvents;

namespace RunscNet.Sentry.Control;

/// <summary>
/// Watches a control connection while its request is served and runs an action once when the
/// caller hangs up first (a Wait with <see cref="ControlRequest.KillOnHangup"/>: the waiter that
/// stands for an exec'd process was killed). Disposing stops the watch.
/// </summary>
internal sealed unsafe class HangupWatch : IDisposable
{
    private readonly int _fd;
    private readonly Action _onHangup;
    private readonly Action<string>? _log;
    private volatile bool _done;

    private HangupWatch(int fd, Action onHangup, Action<string>? log)
    {
        _fd = fd;
        _onHangup = onHangup;
        _log = log;
    }

    /// <summary>Starts watching <paramref name="fd"/> on a thread of its own.</summary>
    public static HangupWatch Start(int fd, Action onHangup, Action<string>? log)
    {
        var watch = new HangupWatch(fd, onHangup, log);
        new Thread(watch.Run) { IsBackground = true, Name = "control-hangup" }.Start();
        return watch;
    }

    private void Run()
    {
        // The caller sends nothing after its request, so any readiness is the hang-up (EOF).
        var pfd = new pollfd { fd = _fd, events = POLLRDHUP };
        while (!_done)
        {
            pfd.revents = 0;
            int n = LibC.poll(&pfd, 1, 250);
            if (n <= 0 || _done) continue;
            if ((pfd.revents & (POLLRDHUP | POLLHUP)) == 0)
            {
                Thread.Sleep(250); // unexpected data: not ours to read; look again later
                continue;
            }
            _log?.Invoke("control: the waiting caller hung up; killing the process it waited for");
            try
            {
                _onHangup();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _log?.Invoke($"control: killing after hang-up: {e.Message}");
            }
            return;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _done = true;
}
