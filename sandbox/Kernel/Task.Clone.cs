using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    /// <summary>clone(2) flags.</summary>
    public const ulong CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
        CLONE_PIDFD = 0x1000, CLONE_PTRACE = 0x2000, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000,
        CLONE_THREAD = 0x10000, CLONE_NEWNS = 0x20000, CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000,
        CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000,
        CLONE_UNTRACED = 0x800000, CLONE_CHILD_SETTID = 0x01000000, CLONE_NEWCGROUP = 0x02000000,
        CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000,
        CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000, CLONE_IO = 0x80000000;

    private const ulong NamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
        CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

    /// <summary>Lets the file side copy or share the fd table and fs context into a new process.</summary>
    partial void ForkFilesInto(Task child, ulong flags);

    /// <summary>Lets the file side close close-on-exec fds at execve.</summary>
    partial void OnExecFiles();

    /// <summary>Lets the file side close every fd when the process ends.</summary>
    partial void OnProcessExit();

    /// <summary>Lets the file side apply a new RLIMIT_NOFILE.</summary>
    partial void ApplyFileLimit(int limit);

    /// <summary>Called by setrlimit/prlimit64 when RLIMIT_NOFILE changes.</summary>
    public void OnFileLimitChanged(int limit) => ApplyFileLimit(limit);

    /// <summary>Lets the file side resolve an fd (mmap of a file).</summary>
    partial void LookupFile(int fd, ref Vfs.FileDescription? file);

    /// <summary>The open file description of <paramref name="fd"/>, or null (EBADF).</summary>
    public Vfs.FileDescription? FileForFd(int fd)
    {
        Vfs.FileDescription? f = null;
        LookupFile(fd, ref f);
        return f;
    }

    /// <summary>
    /// clone/clone3/fork/vfork. Without CLONE_THREAD: creates a new process whose address space
    /// is a copy-on-write fork of this one (CLONE_VM without CLONE_THREAD, as posix_spawn and
    /// vfork use, also gets a copy; the parent waits for the child's exec or exit as with vfork).
    /// With CLONE_THREAD (which needs CLONE_SIGHAND, which needs CLONE_VM): a new thread of this
    /// process (see <see cref="CloneThread"/>). CLONE_PARENT_SETTID, CLONE_CHILD_SETTID,
    /// CLONE_CHILD_CLEARTID and CLONE_SETTLS as on Linux. Returns the child's pid/tid or -errno.
    /// </summary>
    public long Clone(ulong flags, ulong newSp, ulong parentTidAddr, ulong childTidAddr, ulong tls)
    {
        if ((flags & CLONE_THREAD) != 0 && (flags & CLONE_SIGHAND) == 0) return -Errno.EINVAL;
        if ((flags & CLONE_SIGHAND) != 0 && (flags & CLONE_VM) == 0) return -Errno.EINVAL;
        if ((flags & CLONE_THREAD) != 0) return CloneThread(flags, newSp, parentTidAddr, childTidAddr, tls);
        if ((flags & NamespaceFlags) != 0) return -Errno.EPERM;
        int exitSignal = (int)(flags & 0xff);
        if (exitSignal > Signal.Max) return -Errno.EINVAL;
        bool vfork = (flags & (CLONE_VFORK | CLONE_VM)) != 0;

        var ctx = Context!;
        var forked = ctx.ForkAddressSpace(out int err);
        if (forked == null) return -(err == 0 ? Errno.ENOMEM : err);
        Registers regs = ctx.Regs;
        regs.Rax = 0;
        if (newSp != 0) regs.Rsp = newSp;
        if ((flags & CLONE_SETTLS) != 0) regs.FsBase = tls;
        ctx.GetFpu(out var fpu);

        var tg = ThreadGroup;
        ThreadGroup childTg;
        Task child;
        lock (Kernel.TaskLock)
        {
            int pid = Kernel.AllocatePidLocked();
            if (pid < 0)
            {
                forked.Abandon();
                return pid;
            }
            var parent = (flags & CLONE_PARENT) != 0 && tg.Parent != null ? tg.Parent : tg;
            childTg = new ThreadGroup(Kernel, pid)
            {
                Parent = parent,
                ContainerId = tg.ContainerId,
                PidNamespace = tg.PidNamespace,
                Handlers = (flags & CLONE_SIGHAND) != 0 ? tg.Handlers : tg.Handlers.Clone(),
                Limits = tg.Limits.Clone(),
                OomScoreAdj = tg.OomScoreAdj,
                OomScoreAdjMin = tg.OomScoreAdjMin,
                ExitSignal = exitSignal,
                AddressSpace = tg.AddressSpace!.Fork(null),
            };
            child = new Task(Kernel, pid, Credentials, NoMemory.Instance)
            {
                ThreadGroup = childTg,
                Name = Name,
                NoNewPrivileges = NoNewPrivileges,
                Seccomp = Seccomp,
                AltStack = AltStack,
                Nice = Nice, SchedPolicy = SchedPolicy, SchedPriority = SchedPriority, TimerSlackNs = TimerSlackNs, IoPriority = IoPriority,
                CpuAffinity = CpuAffinity,
                ClearChildTid = (flags & CLONE_CHILD_CLEARTID) != 0 ? childTidAddr : 0,
            };
            child.SignalMask = SignalMask;
            childTg.Tasks.Add(child);
            childTg.SetLeader(child);
            Kernel.JoinProcessGroupLocked(childTg, tg.ProcessGroup.Id, tg.Session);
            parent.Children.Add(childTg);
            Kernel.RegisterLocked(childTg);
            Kernel.RegisterLocked(child);
            if (vfork) childTg.VforkDone = new ManualResetEventSlim(false);
        }
        ForkFilesInto(child, flags);
        int seenTid = Kernel.IdSeenBy(this, child.Tid);
        if ((flags & CLONE_PARENT_SETTID) != 0) Memory.CopyOutStruct(parentTidAddr, seenTid);

        var done = childTg.VforkDone;
        child.StartThread(() =>
        {
            var c = Kernel.Platform.AdoptForked(forked, regs, fpu);
            child.Context = c;
            child.Memory = c.Memory;
            childTg.AddressSpace!.Context = c;
            if ((flags & CLONE_CHILD_SETTID) != 0) c.Memory.CopyOutStruct(childTidAddr, seenTid);
            return 0;
        }, null);
        if (done != null)
        {
            _blocked = true;   // as Linux's vfork parent, asleep until the child execs or exits
            try { done.Wait(); }
            finally { _blocked = false; }
        }
        return seenTid;
    }

    /// <summary>
    /// A new thread (CLONE_THREAD): a task of this thread group with a new TID, sharing the
    /// address space (a new platform thread over the same pages), the signal handlers, the fd
    /// table and fs context when asked (glibc always asks), starting on <paramref name="newSp"/>
    /// with this task's registers, FPU state and signal mask, no alternate signal stack and no
    /// pending signals, as clone(2) says.
    /// </summary>
    private long CloneThread(ulong flags, ulong newSp, ulong parentTidAddr, ulong childTidAddr, ulong tls)
    {
        if ((flags & (NamespaceFlags | CLONE_PARENT)) != 0) return -Errno.EINVAL;
        var ctx = Context!;
        var tg = ThreadGroup;
        if (tg.AddressSpace == null) return -Errno.EINVAL;
        var thread = ctx.CloneThread(out int err);
        if (thread == null) return -(err == 0 ? Errno.EAGAIN : err);
        Registers regs = ctx.Regs;
        regs.Rax = 0;
        if (newSp != 0) regs.Rsp = newSp;
        if ((flags & CLONE_SETTLS) != 0) regs.FsBase = tls;
        ctx.GetFpu(out var fpu);

        Task? child = null;
        int tid;
        lock (Kernel.TaskLock)
        {
            tid = tg.Exiting ? -Errno.EINTR : Kernel.AllocatePidLocked();
            if (tid >= 0)
            {
                child = new Task(Kernel, tid, Credentials, Memory)
                {
                    ThreadGroup = tg,
                    Name = Name,
                    NoNewPrivileges = NoNewPrivileges,
                    Seccomp = Seccomp,
                    ParentDeathSignal = ParentDeathSignal,
                    Nice = Nice, SchedPolicy = SchedPolicy, SchedPriority = SchedPriority, TimerSlackNs = TimerSlackNs, IoPriority = IoPriority,
                    CpuAffinity = CpuAffinity,
                    ClearChildTid = (flags & CLONE_CHILD_CLEARTID) != 0 ? childTidAddr : 0,
                };
                child.SignalMask = SignalMask;
                tg.Tasks.Add(child);
                Kernel.RegisterLocked(child);
            }
        }
        if (child == null)
        {
            thread.Abandon();
            return tid == -Errno.EINTR ? -Errno.ERESTARTNOINTR : tid;
        }
        ForkFilesInto(child, flags);
        // The address space is shared: both tid words are written before either thread runs on.
        int threadTid = Kernel.IdSeenBy(this, child.Tid);
        if ((flags & CLONE_PARENT_SETTID) != 0) Memory.CopyOutStruct(parentTidAddr, threadTid);
        if ((flags & CLONE_CHILD_SETTID) != 0) Memory.CopyOutStruct(childTidAddr, threadTid);

        child.StartThread(() =>
        {
            var c = Kernel.Platform.AdoptForked(thread, regs, fpu);
            child.Context = c;
            child.Memory = c.Memory;
            return 0;
        }, null);
        return threadTid;
    }
}
