using RunscNet.Sentry.Kernel.Seccomp;
using System.Text;
using RunscNet.Sentry.Platform;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    private bool _syscallRestartable;

    /// <summary>The system call being served (-1 when none), for diagnostics.</summary>
    public long CurrentSyscall { get; private set; } = -1;

    /// <summary>
    /// What restart_syscall(2) runs after a call returned ERESTART_RESTARTBLOCK (nanosleep's
    /// remaining sleep). Cleared when used.
    /// </summary>
    public Func<Task, long>? RestartBlock { get; set; }

    /// <summary>
    /// Starts the task's dedicated thread: it runs <paramref name="setup"/> (which must create or
    /// adopt the platform context, returning 0 or -errno), reports that result through
    /// <paramref name="started"/>, and then serves the application until the task exits.
    /// </summary>
    internal void StartThread(Func<int> setup, Action<int>? started)
    {
        var thread = new Thread(() => ThreadMain(setup, started), 256 * 1024)
        {
            IsBackground = true,
            Name = $"task {Tid}",
        };
        Thread = thread;
        thread.Start();
    }

    private void ThreadMain(Func<int> setup, Action<int>? started)
    {
        t_current = this;
        int err;
        try
        {
            err = setup();
        }
        catch (Exception e)
        {
            Kernel.Log.Write($"{DebugLog.SentryErrorMarker} task {Tid}: setup failed: {e}");
            err = -Errno.ENOMEM;
        }
        if (err < 0) Kernel.Log.Write($"task {Tid}: start failed: errno {-err}");
        else ThreadGroup.HasRun = true;
        started?.Invoke(err);
        if (err < 0)
        {
            lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Exited(127));
            ExitTask();
            return;
        }
        try
        {
            Loop();
        }
        catch (Exception e)
        {
            Kernel.Log.Write($"{DebugLog.SentryErrorMarker} task {Tid} ({Name}): fatal Sentry error: {e}");
            lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGKILL, false));
        }
        ExitTask();
    }

    private void Loop()
    {
        long? lastResult = null;
        while (true)
        {
            if (!HandleSignalsAndStops(lastResult)) return;
            lastResult = null;
            Volatile.Write(ref _inUser, 1);
            Thread.MemoryBarrier();
            if (InterruptPending)
            {
                Volatile.Write(ref _inUser, 0);
                continue;
            }
            var reason = Context!.Run();
            Volatile.Write(ref _inUser, 0);
            switch (reason)
            {
                case StopReason.Syscall:
                    lastResult = DoSyscall();
                    break;
                case StopReason.Fault:
                    HandleFault(Context.FaultInfo);
                    break;
                case StopReason.Interrupted:
                    break;
                case StopReason.Died:
                    lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGKILL, false));
                    return;
            }
        }
    }

    /// <summary>Serves the system call the stub stopped on; returns its result when it may be restarted.</summary>
    private long? DoSyscall()
    {
        ref var r = ref Context!.Regs;
        // Linux takes the number from the low 32 bits, sign-extended (entry_64.S: movslq %eax).
        long nr = unchecked((int)r.OrigRax);
        var args = new SyscallArguments(r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9);
        var entry = Kernel.Syscalls.Lookup(nr);
        _syscallRestartable = true;
        long result;
        if (Seccomp.Mode != SeccompState.ModeDisabled && !SeccompAllows(nr, args, out result))
        {
            // Decided by a filter: not run, never restarted (Linux writes the value and returns).
            if (Kernel.Strace)
                Kernel.Log.Write(FormatStrace(Tid, entry?.Name ?? $"syscall_{nr}", args, result) + " (seccomp)");
            if (Context != null && !Exited) Context.Regs.Rax = unchecked((ulong)result);
            return null;
        }
        if (entry?.Handler == null)
        {
            result = -Errno.ENOSYS;
            Kernel.Unimplemented.Record(Name, nr);
            Kernel.Log.WriteOnce(nr, Name, $"unimplemented system call {nr} ({entry?.Name ?? "unknown"}) by {Name} (pid {Pid})");
        }
        else
        {
            CurrentSyscall = nr;
            result = SyscallDispatch.Invoke(entry, this, args, Kernel.Log);
        }
        CurrentSyscall = -1;
        if (Kernel.Strace)
            Kernel.Log.Write(FormatStrace(Tid, entry?.Name ?? $"syscall_{nr}", args, result));
        if (Context != null && !Exited) Context.Regs.Rax = unchecked((ulong)result);
        return _syscallRestartable ? result : null;
    }

    /// <summary>One strace line: <c>[tid] name(a0, a1, ...) = result</c>.</summary>
    public static string FormatStrace(int tid, string name, in SyscallArguments a, long result)
    {
        var sb = new StringBuilder();
        sb.Append('[').Append(tid).Append("] ").Append(name).Append('(');
        sb.Append($"0x{a.A0:x}, 0x{a.A1:x}, 0x{a.A2:x}, 0x{a.A3:x}, 0x{a.A4:x}, 0x{a.A5:x}) = ");
        if (result < 0 && result > -4096) sb.Append(result).Append(" (").Append(ErrnoName((int)-result)).Append(')');
        else sb.Append(result >= 0 && result < 1 << 20 ? result.ToString() : $"0x{result:x}");
        return sb.ToString();
    }

    private static string ErrnoName(int e) => e switch
    {
        Errno.EPERM => "EPERM", Errno.ENOENT => "ENOENT", Errno.ESRCH => "ESRCH", Errno.EINTR => "EINTR",
        Errno.EBADF => "EBADF", Errno.ECHILD => "ECHILD", Errno.EAGAIN => "EAGAIN", Errno.ENOMEM => "ENOMEM",
        Errno.EACCES => "EACCES", Errno.EFAULT => "EFAULT", Errno.EEXIST => "EEXIST", Errno.ENOTDIR => "ENOTDIR",
        Errno.EINVAL => "EINVAL", Errno.ENOTTY => "ENOTTY", Errno.ESPIPE => "ESPIPE", Errno.EPIPE => "EPIPE",
        Errno.ENOSYS => "ENOSYS", Errno.ENOEXEC => "ENOEXEC", Errno.ERESTARTSYS => "ERESTARTSYS",
        Errno.ERESTARTNOHAND => "ERESTARTNOHAND", Errno.ERESTARTNOINTR => "ERESTARTNOINTR",
        Errno.ERESTART_RESTARTBLOCK => "ERESTART_RESTARTBLOCK", _ => $"errno {e}",
    };
}

internal sealed partial class Task
{
    /// <summary>
    /// Starts a process's first task (init, or a `runsc-net exec` process): its thread creates a
    /// fresh stub and execs <paramref name="path"/>. Blocks until the exec has succeeded or
    /// failed; returns 0 or -errno (the task is gone on failure).
    /// </summary>
    public int StartProcess(string path, List<string> argv, List<string> envp)
    {
        int result = 0;
        using var started = new ManualResetEventSlim(false);
        StartThread(() => Execve(path, argv, envp), err =>
        {
            result = err;
            started.Set();
        });
        started.Wait();
        return result;
    }
}
