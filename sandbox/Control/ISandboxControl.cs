namespace RunscNet.Sentry.Control;

/// <summary>A process of the sandbox as `ps` shows it.</summary>
public sealed record ProcessInfo(int Pid, int PPid, uint Uid, string Command, string State, long StartTimeTicks);

/// <summary>Calls a program of the container made that the Sentry does not implement (`debug --unimplemented`).</summary>
public sealed record UnimplementedCall(string Program, int Number, string Name, long Count);

/// <summary>A task as `debug --stacks` shows it: its state and the system call it is in (-1: none).</summary>
public sealed record TaskStack(int Tid, int Pid, string Name, string State, int Syscall, string SyscallName);

/// <summary>A request to run a new process in a running sandbox (`runsc-net exec`).</summary>
internal sealed record ExecRequest(
    List<string> Args, List<string> Env, string Cwd, uint Uid, uint Gid, List<uint> AdditionalGids,
    bool Terminal, int[] StdioFds);

/// <summary>
/// What the control server asks of the Sentry. Implemented by the kernel; the control server
/// (Control/ControlServer.cs) turns protocol messages into these calls.
/// </summary>
internal interface ISandboxControl
{
    /// <summary>Starts the container's init process (`start`). Throws with a user-facing message on failure.</summary>
    void Start();

    /// <summary>Sends <paramref name="signal"/> to init, or to every process when <paramref name="all"/> is set.</summary>
    void Signal(int signal, bool all);

    /// <summary>Lists the sandbox's processes in its own PID namespace.</summary>
    IReadOnlyList<ProcessInfo> Processes();

    /// <summary>
    /// Starts a process from <paramref name="request"/>; returns its pid in the sandbox. The fds in
    /// <c>request.StdioFds</c> (stdin, stdout, stderr as the caller sent them) are closed by the control
    /// server after this returns: dup the ones the process keeps.
    /// </summary>
    int Exec(ExecRequest request);

    /// <summary>
    /// Blocks until process <paramref name="pid"/> exits (0 means the container's init); returns its
    /// wait status (as wait(2) encodes it). Called on its own thread per request.
    /// </summary>
    int Wait(int pid);

    /// <summary>Sends SIGKILL to process <paramref name="pid"/> of the sandbox from outside (no-op when it is gone).</summary>
    void KillProcess(int pid);

    /// <summary>Stops every task (`pause`).</summary>
    void Pause();

    /// <summary>Continues every task (`resume`).</summary>
    void Resume();

    /// <summary>The calls without a handler each program made, with counts (`debug --unimplemented`).</summary>
    IReadOnlyList<UnimplementedCall> UnimplementedCalls();

    /// <summary>Every live task with its state and current system call (`debug --stacks`).</summary>
    IReadOnlyList<TaskStack> Stacks();

    /// <summary>
    /// Stops every task at a safe point and writes the checkpoint image to <paramref name="imageFd"/>
    /// (a new empty file the caller renames once this returned). Then ends the container, or lets
    /// it run on when <paramref name="leaveRunning"/>. Throws with a one-line message (naming what
    /// cannot be saved) and leaves the container as it was on failure. The image records
    /// <paramref name="containerId"/> and <paramref name="runtimeVersion"/>.
    /// </summary>
    void Checkpoint(int imageFd, string containerId, string runtimeVersion, bool leaveRunning);

    /// <summary>
    /// Instead of <see cref="Start"/>: rebuilds every process from the image read from
    /// <paramref name="imageFd"/> and lets them run. Throws with a one-line message on failure.
    /// </summary>
    void Restore(int imageFd, string imageDigest);
}
