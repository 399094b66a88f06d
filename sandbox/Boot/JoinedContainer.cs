using RunscNet.Gofer;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs;
using RunscNet.StateFile.Oci;
using Mount = RunscNet.Sentry.Vfs.Mount;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// A container that joined a running sandbox (a pod's second and later containers): its spec,
/// gofer connection, mount table root, stdio and init. The sandbox's kernel is shared; what is
/// the container's own is found through <see cref="ThreadGroup.ContainerId"/>.
/// </summary>
internal sealed class JoinedContainer(string id, Spec spec, GoferClient gofer, Mount root, int[] stdio, bool terminal,
    int exitRecordFd, int notifyFd, DebugLog log)
{
    // Raw numbers: written and closed once, by MarkExited under the container's lock.
    private int _exitRecordFd = exitRecordFd, _notifyFd = notifyFd;

    public string Id { get; } = id;
    public Spec Spec { get; } = spec;
    public GoferClient Gofer { get; } = gofer;
    public Mount Root { get; } = root;

    /// <summary>
    /// The container's own PID namespace when its spec asks for a new one (a `pid` entry without a
    /// path: Kubernetes' shareProcessNamespace false); null when it shares the pod's (a path, as
    /// containerd writes for shareProcessNamespace true, or no entry).
    /// </summary>
    public PidNamespace? PidNamespace { get; } =
        spec.Linux?.Namespaces?.Any(n => n.Type == "pid" && string.IsNullOrEmpty(n.Path)) == true ? new PidNamespace() : null;

    /// <summary>The container's own linux.seccomp (checked by the runtime at create).</summary>
    public Kernel.Seccomp.SeccompState Seccomp { get; } = SentrySandbox.ContainerSeccomp(spec);

    /// <summary>Our own duplicates of the init's stdio host fds (closed when the container goes).</summary>
    /// <remarks>Raw numbers: the init's tasks use them as host fds, and <see cref="ReleaseStdio"/> closes them under its lock.</remarks>
    public int[] Stdio { get; } = stdio;

    /// <summary>
    /// Closes our duplicates of the init's stdio (once): when the init has ended, the container's
    /// pipes must reach EOF as soon as its last process lets go, as under runc (containerd's shim
    /// waits for that before it deletes the container).
    /// </summary>
    public void ReleaseStdio()
    {
        lock (Stdio)
        {
            for (int i = 0; i < Stdio.Length; i++)
            {
                if (Stdio[i] >= 0) FileDescriptor.Close(Stdio[i]);
                Stdio[i] = -1;
            }
        }
    }

    public bool Terminal { get; } = terminal;

    /// <summary>The container's init once started.</summary>
    public ThreadGroup? Init { get; set; }

    /// <summary>Set once start was asked for (or a fatal signal came first).</summary>
    public bool Started { get; set; }

    /// <summary>Set when the container's init has exited (or the container was stopped before it ran).</summary>
    public ManualResetEventSlim Exited { get; } = new(false);

    /// <summary>The init's wait status once <see cref="Exited"/> is set.</summary>
    public int ExitStatus { get; private set; }

    /// <summary>
    /// Records the init's end once (later calls change nothing): in the exit record, to the
    /// container's host waiter (which then exits with it), and for control Wait requests.
    /// </summary>
    public unsafe void MarkExited(int status)
    {
        lock (this)
        {
            if (Exited.IsSet) return;
            ExitStatus = status;
            ExitRecord.Save(_exitRecordFd, status, log);
            if (_notifyFd >= 0)
            {
                // 4 bytes fit any pipe: the write neither blocks nor splits.
                long n = RawSyscall.Checked(1 /* write */, _notifyFd, (long)&status, 4);
                if (n != 4) log.Write($"container {Id}: the waiter was not told its status: {(n < 0 ? $"errno {-n}" : "short write")}");
                FileDescriptor.Close(_notifyFd);
                _notifyFd = -1;
            }
            if (_exitRecordFd >= 0) FileDescriptor.Close(_exitRecordFd);
            _exitRecordFd = -1;
            Exited.Set();
        }
    }
}
