using RunscNet.Gofer.Interop;
using Tmds.Linux;

namespace RunscNet.Gofer.Process;

/// <summary>
/// The gofer's seccomp-bpf allowlist (x86_64): the system calls its file operations make plus
/// those the NativeAOT runtime needs to keep running (memory, threads, signals, futexes, clocks).
/// Anything else is refused with <see cref="Violation"/>; a foreign architecture or the x32 ABI
/// kills the process. A few calls are allowed with argument checks only: socket (AF_UNIX),
/// clone (threads only: CLONE_THREAD set, no CLONE_NEW* flag), prctl (thread names only), tgkill and prlimit64 (this
/// process only), mknodat (no device nodes). ioctl is not allowed at all. clone3 answers ENOSYS
/// so libc falls back to clone, whose flags the filter can see.
/// </summary>
internal static class SeccompFilter
{
    /// <summary>What the filter does with a call that is not on the list.</summary>
    public enum Violation
    {
        /// <summary>Fail the call with EPERM and keep running.</summary>
        Errno,
        /// <summary>Kill the whole process (SECCOMP_RET_KILL_PROCESS).</summary>
        KillProcess,
    }

    private const uint AuditArchX86_64 = 0xC000003E;
    private const uint X32SyscallBit = 0x40000000;
    private const uint RetKillProcess = 0x80000000, RetErrno = 0x00050000, RetAllow = 0x7FFF0000;
    private const ushort LdWAbs = 0x20, JeqK = 0x15, JgeK = 0x35, JsetK = 0x45, RetK = 0x06, AluAndK = 0x54;
    private const uint OffsetNr = 0, OffsetArch = 4, OffsetArg0Low = 16;
    private const uint SysSocket = 41, SysClone = 56, SysPrctl = 157, SysTgkill = 234, SysPrlimit64 = 302, SysMknodat = 259, SysClone3 = 435;
    private const uint CloneThread = 0x10000;
    /// <summary>CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET.</summary>
    private const uint CloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
    private const uint PrSetName = 15, PrGetName = 16;

    /// <summary>System calls allowed with any arguments (x86_64 numbers), by purpose.</summary>
    public static readonly (uint Number, string Name)[] Allowed =
    {
        // File operations of the server.
        (257, "openat"), (3, "close"), (332, "statx"), (262, "newfstatat"), (5, "fstat"), (138, "fstatfs"),
        (258, "mkdirat"), (266, "symlinkat"), (265, "linkat"), (263, "unlinkat"),
        (316, "renameat2"), (264, "renameat"), (267, "readlinkat"), (260, "fchownat"), (268, "fchmodat"), (452, "fchmodat2"),
        (280, "utimensat"), (77, "ftruncate"), (217, "getdents64"), (8, "lseek"), (74, "fsync"),
        (75, "fdatasync"), (72, "fcntl"), (81, "fchdir"), (193, "fgetxattr"), (190, "fsetxattr"),
        (196, "flistxattr"), (199, "fremovexattr"), (95, "umask"),
        // The protocol socket and host unix sockets.
        (46, "sendmsg"), (47, "recvmsg"), (49, "bind"), (42, "connect"), (48, "shutdown"),
        // I/O the runtime and the debug log use.
        (0, "read"), (1, "write"), (17, "pread64"), (18, "pwrite64"), (19, "readv"), (20, "writev"),
        (7, "poll"), (271, "ppoll"), (32, "dup"), (292, "dup3"),
        // Memory.
        (9, "mmap"), (10, "mprotect"), (11, "munmap"), (12, "brk"), (25, "mremap"), (28, "madvise"),
        (27, "mincore"), (324, "membarrier"),
        // Threads, signals, synchronisation, time.
        (202, "futex"), (24, "sched_yield"), (204, "sched_getaffinity"), (143, "sched_getparam"),
        (145, "sched_getscheduler"), (146, "sched_get_priority_max"), (147, "sched_get_priority_min"),
        (273, "set_robust_list"), (334, "rseq"), (218, "set_tid_address"), (13, "rt_sigaction"),
        (14, "rt_sigprocmask"), (15, "rt_sigreturn"), (131, "sigaltstack"),
        (219, "restart_syscall"), (228, "clock_gettime"), (230, "clock_nanosleep"), (35, "nanosleep"),
        (318, "getrandom"), (39, "getpid"), (186, "gettid"), (102, "getuid"), (107, "geteuid"),
        (104, "getgid"), (108, "getegid"), (97, "getrlimit"), (99, "sysinfo"),
        (63, "uname"), (79, "getcwd"), (60, "exit"), (231, "exit_group"),
    };

    /// <summary>Builds the BPF program; <paramref name="pid"/> is the gofer's own process id.</summary>
    public static SockFilter[] Build(Violation violation, int pid)
    {
        uint deny = violation == Violation.KillProcess ? RetKillProcess : RetErrno | Errno.EPERM;
        var p = new List<SockFilter>
        {
            Load(OffsetArch),
            Jump(JeqK, AuditArchX86_64, 1, 0),
            Return(RetKillProcess),
            Load(OffsetNr),
            Jump(JgeK, X32SyscallBit, 0, 1),
            Return(RetKillProcess),
        };
        foreach ((uint number, _) in Allowed)
        {
            p.Add(Jump(JeqK, number, 0, 1));
            p.Add(Return(RetAllow));
        }
        // socket(AF_UNIX, ...) only.
        AllowIfArgumentIs(p, SysSocket, 0, new[] { (uint)(ushort)LibC.AF_UNIX }, RetErrno | Errno.EAFNOSUPPORT);
        // prctl: thread names only.
        AllowIfArgumentIs(p, SysPrctl, 0, new[] { PrSetName, PrGetName }, deny);
        // Signals and rlimits of this process only (the runtime suspends its threads with tgkill).
        AllowIfArgumentIs(p, SysTgkill, 0, new[] { (uint)pid }, deny);
        AllowIfArgumentIs(p, SysPrlimit64, 0, new[] { 0u, (uint)pid }, deny);
        // clone: new threads only (CLONE_THREAD set), never new processes, never a new namespace
        // (the kernel reads only the low 32 bits of the legacy clone's flags).
        p.Add(Load(OffsetNr));
        p.Add(Jump(JeqK, SysClone, 0, 5));
        p.Add(Load(OffsetArg0Low));
        p.Add(Jump(JsetK, CloneNamespaceFlags, 2, 0));
        p.Add(Jump(JsetK, CloneThread, 0, 1));
        p.Add(Return(RetAllow));
        p.Add(Return(deny));
        // mknodat: regular files, FIFOs and sockets only, never device nodes.
        p.Add(Load(OffsetNr));
        p.Add(Jump(JeqK, SysMknodat, 0, 6));
        p.Add(Load(OffsetArg0Low + 2 * 8));
        p.Add(new SockFilter { Code = AluAndK, K = LinuxMode.S_IFMT });
        p.Add(Jump(JeqK, LinuxMode.S_IFCHR, 2, 0));
        p.Add(Jump(JeqK, LinuxMode.S_IFBLK, 1, 0));
        p.Add(Return(RetAllow));
        p.Add(Return(deny));
        // clone3: its flags are out of the filter's sight; ENOSYS makes libc use clone.
        p.Add(Load(OffsetNr));
        p.Add(Jump(JeqK, SysClone3, 0, 1));
        p.Add(Return(RetErrno | Errno.ENOSYS));
        p.Add(Return(deny));
        return p.ToArray();
    }

    /// <summary>Appends: system call <paramref name="number"/> is allowed when the low 32 bits of argument <paramref name="argument"/> are one of <paramref name="values"/>, else <paramref name="otherwise"/>.</summary>
    private static void AllowIfArgumentIs(List<SockFilter> p, uint number, int argument, uint[] values, uint otherwise)
    {
        p.Add(Load(OffsetNr));
        p.Add(Jump(JeqK, number, 0, (byte)(values.Length + 3)));
        p.Add(Load(OffsetArg0Low + (uint)argument * 8));
        for (int i = 0; i < values.Length; i++)
        {
            // Match: jump to the "allow" after the remaining comparisons.
            p.Add(Jump(JeqK, values[i], (byte)(values.Length - 1 - i), 0));
        }
        p.RemoveAt(p.Count - 1);
        p.Add(Jump(JeqK, values[^1], 0, 1));
        p.Add(Return(RetAllow));
        p.Add(Return(otherwise));
    }

    /// <summary>
    /// Installs the filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC; this also
    /// sets no_new_privs on all of them). Returns 0 or -errno.
    /// </summary>
    public static unsafe int Install(Violation violation)
    {
        SockFilter[] program = Build(violation, Environment.ProcessId);
        fixed (SockFilter* filter = program)
        {
            var fprog = new SockFprog { Length = (ushort)program.Length, Filter = filter };
            long r = ProcessSecurity.SeccompSetFilter(ProcessSecurity.SECCOMP_FILTER_FLAG_TSYNC, &fprog);
            if (r < 0)
            {
                return Files.Result(-1);
            }
            return r == 0 ? 0 : -Errno.EAGAIN; // r > 0: a thread could not be synchronised
        }
    }

    private static SockFilter Load(uint offset) => new() { Code = LdWAbs, K = offset };

    private static SockFilter Jump(ushort code, uint k, byte jumpTrue, byte jumpFalse) =>
        new() { Code = code, K = k, JumpTrue = jumpTrue, JumpFalse = jumpFalse };

    private static SockFilter Return(uint value) => new() { Code = RetK, K = value };
}
