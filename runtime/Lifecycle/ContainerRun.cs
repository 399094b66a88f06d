using System.Runtime.InteropServices;
using RunscNet.Runtime.Cli;
using RunscNet.Runtime.Logging;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// <c>run</c>: create + start; unless detached, forward our termination signals to the container,
/// wait for the sandbox process (our child) and delete the container, exiting with its status
/// (128 + signal if a signal killed it, like runc).
/// </summary>
public static class ContainerRun
{
    /// <summary>Runs the container; returns the exit code for the run command.</summary>
    public static int Run(CreateOptions options, bool detach, bool keep, GlobalOptions global)
    {
        Container container = Container.Create(detach ? options : options with { CallerTerminal = true }, global);
        try
        {
            container.Start();
        }
        catch
        {
            TryDelete(global.Root, container.Id);
            throw;
        }
        if (detach) return 0;
        return Attach(container, options, keep, global);
    }

    /// <summary>
    /// Waits for a started (or restored) container like `run` does in the foreground: forwards
    /// the caller's signals to it, then deletes it unless <paramref name="keep"/>; returns its exit code.
    /// </summary>
    public static int Attach(Container container, CreateOptions options, bool keep, GlobalOptions global)
    {
        var registrations = new List<PosixSignalRegistration>();
        // With the caller's terminal the terminal's own signals (^C, ^\, a hang-up) reach boot,
        // which hands them to the container's foreground process group; forwarding them to init
        // as well would deliver them twice (and to the wrong process).
        bool callerTerminal = container.State.Spec?.Process?.Terminal == true && options.ConsoleSocket == null;
        var forwarded = callerTerminal
            ? new[] { PosixSignal.SIGTERM }
            : new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT };
        if (callerTerminal && OperatingSystem.IsLinux())
        {
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP, PosixSignal.SIGTSTP })
                registrations.Add(PosixSignalRegistration.Create(signal, context => context.Cancel = true));
        }
        foreach (var signal in forwarded)
        {
            registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                int number = signal switch
                {
                    PosixSignal.SIGINT => 2, PosixSignal.SIGTERM => 15, PosixSignal.SIGHUP => 1, _ => 3,
                };
                try { container.Signal(number, all: false); }
                catch (RuntimeError e) { RuntimeLog.Debug($"forwarding signal {number}: {e.Message}"); }
            }));
        }
        int status;
        try
        {
            int rc;
            do { rc = Interop.Processes.WaitPid(container.State.Pid, out status, Interop.Processes.__WALL); }
            while (rc < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            if (rc < 0) throw new RuntimeError($"waiting for the sandbox of {container.Id}: {Interop.Processes.LastError()}");
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
        RuntimeLog.Debug($"container {container.Id}: sandbox {WaitStatus.Describe(status)}");
        if (!keep) TryDelete(global.Root, container.Id);
        return WaitStatus.ToExitCode(status);
    }

    /// <summary>Deletes <paramref name="id"/> with --force, logging instead of failing.</summary>
    public static void TryDelete(string root, string id)
    {
        try { Container.Delete(root, id, force: true); }
        catch (RuntimeError e) { RuntimeLog.Warning($"deleting {id}: {e.Message}"); }
        catch (StateFile.StateFileException e) { RuntimeLog.Warning($"deleting {id}: {e.Message}"); }
    }
}
