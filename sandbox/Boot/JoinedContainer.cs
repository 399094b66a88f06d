using RunscNet.Gofer;
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
internal sealed class JoinedContainer(string id, Spec spec, GoferClient gofer, Mount root, int[] stdio, bool terminal)
{
    public string Id { get; } = id;
    public Spec Spec { get; } = spec;
    public GoferClient Gofer { get; } = gofer;
    public Mount Root { get; } = root;

    /// <summary>Our own duplicates of the init's stdio host fds (closed when the container goes).</summary>
    public int[] Stdio { get; } = stdio;

    public bool Terminal { get; } = terminal;

    /// <summary>The container's init once started.</summary>
    public ThreadGroup? Init { get; set; }

    /// <summary>Set once start was asked for (or a fatal signal came first).</summary>
    public bool Started { get; set; }

    /// <summary>Set when the container's init has exited (or the container was stopped before it ran).</summary>
    public ManualResetEventSlim Exited { get; } = new(false);

    /// <summary>The init's wait status once <see cref="Exited"/> is set.</summary>
    public int ExitStatus { get; private set; }

    /// <summary>Records the init's end once (later calls change nothing).</summary>
    public void MarkExited(int status)
    {
        lock (this)
        {
            if (Exited.IsSet) return;
            ExitStatus = status;
            Exited.Set();
        }
    }
}
