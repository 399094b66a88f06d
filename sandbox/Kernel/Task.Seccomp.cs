using RunscNet.Sentry.Kernel.Seccomp;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    /// <summary>si_code of a SIGSYS raised by SECCOMP_RET_TRAP.</summary>
    private const int SYS_SECCOMP = 1;

    /// <summary>
    /// Runs the task's seccomp filters on a system call (seccomp(2) "Filter return values"). True
    /// when the call runs; otherwise <paramref name="result"/> is what the application sees:
    /// ERRNO → -errno (at most 4095); TRACE and USER_NOTIF without a tracer or listener → ENOSYS;
    /// TRAP → a forced SIGSYS (si_code SYS_SECCOMP, si_call_addr, si_syscall, si_arch, si_errno =
    /// the data) with rax rolled back to the call number; KILL_THREAD → this thread ends (the
    /// process, by SIGSYS, when it is the only thread); KILL_PROCESS and unknown actions → the
    /// process dies of SIGSYS. Strict mode kills with SIGKILL outside read, write, exit, sigreturn.
    /// </summary>
    private bool SeccompAllows(long nr, in SyscallArguments args, out long result)
    {
        result = -Errno.ENOSYS;
        var state = Seccomp;
        var data = new SeccompData(unchecked((int)nr), SeccompData.ArchX86_64, Context!.Regs.Rip, args.A0, args.A1, args.A2, args.A3, args.A4, args.A5);
        uint ret = state.Evaluate(data);
        uint action = SeccompAction.ActionOf(ret);
        uint value = ret & SeccompAction.DataMask;
        if (state.Mode == SeccompState.ModeStrict)
        {
            if (action == SeccompAction.Allow) return true;
            Kernel.Log.Write($"seccomp: strict mode killed {Name} (pid {Pid}) at system call {nr}");
            lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGKILL, false));
            return false;
        }
        switch (action)
        {
            case SeccompAction.Allow:
                return true;
            case SeccompAction.Log:
                Kernel.Log.Write($"seccomp: logged system call {nr} by {Name} (pid {Pid})");
                return true;
            case SeccompAction.Errno:
                result = -Math.Min(value, 4095u);
                if (state.Log) Kernel.Log.Write($"seccomp: errno {value} for system call {nr} by {Name} (pid {Pid})");
                return false;
            case SeccompAction.Trace:
            case SeccompAction.UserNotif:
                result = -Errno.ENOSYS;
                return false;
            case SeccompAction.Trap:
                result = nr;
                ForceSigsys(data, value);
                return false;
            case SeccompAction.KillThread:
                Kernel.Log.Write($"seccomp: killed thread {Tid} of {Name} (pid {Pid}) at system call {nr}");
                lock (Kernel.TaskLock)
                {
                    if (ThreadGroup.Tasks.Count(t => !t.Exited) > 1) KillThreadLocked();
                    else StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGSYS, DumpsCore(Signal.SIGSYS)));
                }
                return false;
            default:
                Kernel.Log.Write($"seccomp: killed {Name} (pid {Pid}) at system call {nr}");
                lock (Kernel.TaskLock) StartGroupExitLocked(WaitStatus.Signaled(Signal.SIGSYS, DumpsCore(Signal.SIGSYS)));
                return false;
        }
    }

    /// <summary>SECCOMP_RET_TRAP's SIGSYS: forced like a fault (a blocked or ignored SIGSYS takes its default action).</summary>
    private void ForceSigsys(in SeccompData data, uint errno)
    {
        var info = new SignalInfo { Signo = Signal.SIGSYS, Errno = (int)errno, Code = SYS_SECCOMP };
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(info.Bytes.AsSpan(16), data.InstructionPointer);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(info.Bytes.AsSpan(24), data.Nr);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(info.Bytes.AsSpan(28), data.Arch);
        lock (Kernel.TaskLock)
        {
            var a = ThreadGroup.Handlers.Actions[Signal.SIGSYS];
            if ((SignalMask & Signal.Bit(Signal.SIGSYS)) != 0 || a.Handler == SigAction.Ignore)
            {
                ThreadGroup.Handlers.Actions[Signal.SIGSYS] = default;
                SignalMask &= ~Signal.Bit(Signal.SIGSYS);
            }
            Kernel.SendSignalLocked(ThreadGroup, this, info, SignalSource.Fault);
        }
    }
}
