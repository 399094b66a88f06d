using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Control;

/// <summary>
/// What the control server asks of a sandbox that holds several containers (pods): the root
/// container is served by <see cref="ISandboxControl"/>; containers that joined the sandbox later
/// are named by their container ID. Every ID and fd comes from the control socket, so
/// implementations check them against what the sandbox knows.
/// </summary>
internal interface ISubcontainerControl
{
    /// <summary>
    /// Adds container <paramref name="id"/>: its own mount table built from <paramref name="spec"/>
    /// through the gofer on <paramref name="goferFd"/> (taken over), its init prepared but not
    /// started. <paramref name="stdio"/> are the init's stdin, stdout, stderr (dup'ed; the caller
    /// closes its own), a terminal's slave three times when <paramref name="terminal"/>. When the
    /// init ends, its wait status is written to <paramref name="exitRecordFd"/> (a regular file,
    /// as decimal text) and, as 4 bytes, to <paramref name="notifyFd"/> (a pipe to the
    /// container's host waiter); both are taken over.
    /// </summary>
    void CreateContainer(string id, Spec spec, int goferFd, int[] stdio, bool terminal, int exitRecordFd, int notifyFd);

    /// <summary>Kills every process of container <paramref name="id"/> and drops its mounts and gofer connection.</summary>
    void DestroyContainer(string id);

    /// <summary>Starts the init of container <paramref name="id"/>.</summary>
    void Start(string id);

    /// <summary>Signals the init of container <paramref name="id"/>, or each of its processes with <paramref name="all"/>.</summary>
    void Signal(string id, int signal, bool all);

    /// <summary>The processes of container <paramref name="id"/>.</summary>
    IReadOnlyList<ProcessInfo> Processes(string id);

    /// <summary>Runs a new process in container <paramref name="id"/> (its root, its process set); returns its pid.</summary>
    int Exec(string id, ExecRequest request);

    /// <summary>Stops every task of container <paramref name="id"/> (`pause`).</summary>
    void Pause(string id);

    /// <summary>Continues the tasks of container <paramref name="id"/> (`resume`).</summary>
    void Resume(string id);

    /// <summary>Waits for process <paramref name="pid"/> of container <paramref name="id"/> (0: its init, also before it started); returns the wait status.</summary>
    int Wait(string id, int pid);
}
