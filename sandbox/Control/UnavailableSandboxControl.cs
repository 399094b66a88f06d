namespace RunscNet.Sentry.Control;

/// <summary>
/// The control of a sandbox whose kernel cannot run programs: every request that needs the
/// kernel fails with a clear "not supported yet". A signal ends the sandbox as it would end a
/// container whose init has no handler. The sandbox process is PID 1 of its own PID namespace and
/// so cannot die by a signal it sends itself (init ignores even SIGKILL from inside); like runsc
/// it exits with 128 + the signal, as a shell reports such a death. Used by boot until the
/// Sentry's kernel implements <see cref="ISandboxControl"/>.
/// </summary>
internal sealed class UnavailableSandboxControl : ISandboxControl
{
    private const string Message = "running programs in the sandbox is not supported yet by this build of runsc-net";

    /// <inheritdoc/>
    public void Start() => throw new NotSupportedException(Message);

    /// <inheritdoc/>
    public void Signal(int signal, bool all)
    {
        // Probe, SIGCHLD, SIGCONT, SIGURG, SIGWINCH are ignored by default; stop signals have nothing to stop.
        if (signal is 0 or 17 or 18 or 19 or 20 or 21 or 22 or 23 or 28) return;
        Environment.Exit(128 + signal);
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessInfo> Processes() => [];

    /// <inheritdoc/>
    public int Exec(ExecRequest request) => throw new NotSupportedException(Message);

    /// <inheritdoc/>
    public int Wait(int pid)
    {
        Thread.Sleep(Timeout.Infinite); // nothing runs, so nothing exits
        return 0;
    }

    /// <inheritdoc/>
    public void KillProcess(int pid)
    {
    }

    /// <inheritdoc/>
    public void Pause() => throw new NotSupportedException(Message);

    /// <inheritdoc/>
    public void Resume() => throw new NotSupportedException(Message);

    /// <inheritdoc/>
    public IReadOnlyList<UnimplementedCall> UnimplementedCalls() => [];

    /// <inheritdoc/>
    public IReadOnlyList<TaskStack> Stacks() => [];

    /// <inheritdoc/>
    public void Checkpoint(int imageFd, string containerId, string runtimeVersion, bool leaveRunning) => throw new NotSupportedException(Message);

    /// <inheritdoc/>
    public void Restore(int imageFd, string imageDigest) => throw new NotSupportedException(Message);
}
