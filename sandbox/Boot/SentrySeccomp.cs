using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// The boot process's seccomp filter: an allow-list of the host calls the Sentry (the .NET runtime,
/// our raw calls) and its stubs make, with argument checks where BPF sees them. Installed once
/// set-up is over (EmptyRoot), before the control server can start init, on every thread
/// (TSYNC), and inherited by every stub. Everything else fails with EPERM: not a kill, because
/// the stubs inherit the filter and the application's own calls must reach the stub's SIGSYS
/// trap (seccomp takes the most severe verdict of all filters: KILL > TRAP > ERRNO > ALLOW, so
/// an ERRNO here leaves the stub's TRAP in force, a KILL would end every program that makes an
/// unknown call). Refused for good: execve, mounts, namespaces (setns, unshare, clone with
/// CLONE_NEW*), chroot/pivot_root, path-creating calls (open with O_CREAT or O_TMPFILE,
/// mkdir, link, rename, unlink...), modules, kexec, bpf, perf, io_uring, keyrings, clocks, reboot.
/// </summary>
internal static class SentrySeccomp
{
    /// <summary>Calls allowed with any arguments (x86_64 numbers). Each is one the Sentry, the .NET runtime or a stub makes.</summary>
    public static readonly (uint Number, string Name)[] Allowed =
    {
        (0, "read"), (1, "write"), (3, "close"), (4, "stat"), (5, "fstat"), (6, "lstat"), (7, "poll"), (8, "lseek"),
        (9, "mmap"), (10, "mprotect"), (11, "munmap"), (12, "brk"), (13, "rt_sigaction"), (14, "rt_sigprocmask"),
        (15, "rt_sigreturn"), (16, "ioctl"), (17, "pread64"), (18, "pwrite64"), (19, "readv"), (20, "writev"), (21, "access"),
        (22, "pipe"), (23, "select"), (24, "sched_yield"), (25, "mremap"), (26, "msync"), (27, "mincore"), (28, "madvise"),
        (32, "dup"), (33, "dup2"), (34, "pause"), (35, "nanosleep"), (36, "getitimer"), (37, "alarm"), (38, "setitimer"),
        (39, "getpid"), (40, "sendfile"), (42, "connect"), (43, "accept"), (44, "sendto"), (45, "recvfrom"), (46, "sendmsg"),
        (47, "recvmsg"), (48, "shutdown"), (49, "bind"), (50, "listen"), (51, "getsockname"), (52, "getpeername"),
        (54, "setsockopt"), (55, "getsockopt"), (60, "exit"), (61, "wait4"), (62, "kill"), (63, "uname"), (72, "fcntl"),
        (73, "flock"), (74, "fsync"), (75, "fdatasync"), (77, "ftruncate"), (78, "getdents"), (79, "getcwd"), (89, "readlink"),
        (91, "fchmod"), (93, "fchown"), (95, "umask"), (96, "gettimeofday"), (97, "getrlimit"), (98, "getrusage"),
        (99, "sysinfo"), (100, "times"), (101, "ptrace"), (102, "getuid"), (104, "getgid"), (107, "geteuid"), (108, "getegid"), (109, "setpgid"),
        (110, "getppid"), (111, "getpgrp"), (115, "getgroups"), (118, "getresuid"), (120, "getresgid"), (121, "getpgid"),
        (124, "getsid"), (125, "capget"), (126, "capset"), (127, "rt_sigpending"), (128, "rt_sigtimedwait"),
        (129, "rt_sigqueueinfo"), (130, "rt_sigsuspend"), (131, "sigaltstack"), (137, "statfs"), (138, "fstatfs"),
        (140, "getpriority"), (141, "setpriority"), (143, "sched_getparam"), (145, "sched_getscheduler"),
        (146, "sched_get_priority_max"), (147, "sched_get_priority_min"), (149, "mlock"), (150, "munlock"), (157, "prctl"),
        (158, "arch_prctl"), (160, "setrlimit"), (186, "gettid"), (187, "readahead"), (190, "fsetxattr"), (193, "fgetxattr"),
        (196, "flistxattr"), (199, "fremovexattr"), (200, "tkill"), (201, "time"), (202, "futex"), (203, "sched_setaffinity"),
        (204, "sched_getaffinity"), (213, "epoll_create"), (217, "getdents64"), (218, "set_tid_address"),
        (219, "restart_syscall"), (221, "fadvise64"), (222, "timer_create"), (223, "timer_settime"), (224, "timer_gettime"),
        (225, "timer_getoverrun"), (226, "timer_delete"), (228, "clock_gettime"), (229, "clock_getres"),
        (230, "clock_nanosleep"), (231, "exit_group"), (232, "epoll_wait"), (233, "epoll_ctl"), (234, "tgkill"),
        (239, "get_mempolicy"), (247, "waitid"), (253, "inotify_init"), (254, "inotify_add_watch"), (255, "inotify_rm_watch"),
        (262, "newfstatat"), (267, "readlinkat"), (269, "faccessat"), (270, "pselect6"), (271, "ppoll"),
        (273, "set_robust_list"), (274, "get_robust_list"), (275, "splice"), (276, "tee"), (277, "sync_file_range"),
        (280, "utimensat"), (281, "epoll_pwait"), (282, "signalfd"), (283, "timerfd_create"), (284, "eventfd"),
        (285, "fallocate"), (286, "timerfd_settime"), (287, "timerfd_gettime"), (288, "accept4"), (289, "signalfd4"),
        (290, "eventfd2"), (291, "epoll_create1"), (292, "dup3"), (293, "pipe2"), (294, "inotify_init1"), (295, "preadv"),
        (296, "pwritev"), (297, "rt_tgsigqueueinfo"), (299, "recvmmsg"), (302, "prlimit64"), (307, "sendmmsg"),
        (309, "getcpu"), (310, "process_vm_readv"), (311, "process_vm_writev"), (315, "sched_getattr"), (317, "seccomp"),
        (318, "getrandom"), (319, "memfd_create"), (324, "membarrier"), (325, "mlock2"), (326, "copy_file_range"),
        (327, "preadv2"), (328, "pwritev2"), (332, "statx"), (334, "rseq"), (424, "pidfd_send_signal"), (434, "pidfd_open"),
        (436, "close_range"), (438, "pidfd_getfd"), (439, "faccessat2"), (441, "epoll_pwait2"), (449, "futex_waitv"),
        (462, "mseal"),
    };

    /// <summary>
    /// clone's flags the Sentry uses: threads (glibc's CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|
    /// SETTLS|PARENT_SETTID|CHILD_CLEARTID, the stubs' thread flags), a stub's fork (CLONE_PARENT),
    /// a new stub (CLONE_VM | CLONE_VFORK), CHILD_SETTID, PIDFD, VFORK and the exit signal. Any other bit
    /// (every CLONE_NEW*, CLONE_PTRACE, CLONE_UNTRACED, CLONE_IO...) → EPERM.
    /// </summary>
    public const uint AllowedCloneFlags = 0xff | 0x100 | 0x200 | 0x400 | 0x800 | 0x1000 | 0x4000 | 0x8000 | 0x10000 | 0x40000
        | 0x80000 | 0x100000 | 0x200000 | 0x1000000;

    /// <summary>Socket families the Sentry serves with host sockets (netlink: NETLINK_ROUTE only).</summary>
    public const uint AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16;

    /// <summary>open flags that create a file (O_CREAT, O_TMPFILE's own bit): refused.</summary>
    public const uint CreatingOpenFlags = 0x40 | 0x400000;

    /// <summary>execveat's only allowed flags: AT_EMPTY_PATH (a stub image from its memfd).</summary>
    public const uint AtEmptyPath = 0x1000;

    /// <summary>Numbers of the calls with argument checks.</summary>
    public const uint SysOpen = 2, SysSocket = 41, SysSocketPair = 53, SysClone = 56, SysOpenAt = 257, SysExecveAt = 322, SysClone3 = 435;

    private const ushort LdAbsW = 0x20, JeqK = 0x15, JgeK = 0x35, JsetK = 0x45, RetK = 0x06;
    private const uint AuditArchX86_64 = 0xC000003E, X32Bit = 0x40000000;

    /// <summary>Verdicts (SECCOMP_RET_*).</summary>
    public const uint RetErrno = 0x00050000, RetAllow = 0x7FFF0000;
    private const uint EPERM = 1, ENOSYS = 38;

    private const uint OffNr = 0, OffArch = 4;
    private static uint ArgLow(int i) => 16 + 8 * (uint)i;
    private static uint ArgHigh(int i) => 20 + 8 * (uint)i;

    /// <summary>The program as struct sock_filter entries.</summary>
    public static SockFilter[] Build()
    {
        var p = new List<SockFilter>
        {
            // Another architecture (int 0x80) or x32: ENOSYS, as the stub's own filter says.
            Ins(LdAbsW, OffArch),
            Ins(JeqK, AuditArchX86_64, 1, 0),
            Ins(RetK, RetErrno | ENOSYS),
            Ins(LdAbsW, OffNr),
            Ins(JgeK, X32Bit, 0, 1),
            Ins(RetK, RetErrno | ENOSYS),
        };
        // clone3: ENOSYS makes glibc fall back to clone, whose flags BPF can see (clone3's are in memory).
        Block(p, SysClone3, Ins(RetK, RetErrno | ENOSYS));
        Block(p, SysClone,
            Ins(LdAbsW, ArgHigh(0)), Ins(JeqK, 0, 1, 0), Ins(RetK, RetErrno | EPERM),
            Ins(LdAbsW, ArgLow(0)), Ins(JsetK, ~AllowedCloneFlags, 0, 1), Ins(RetK, RetErrno | EPERM),
            Ins(RetK, RetAllow));
        Block(p, SysSocket,
            Ins(LdAbsW, ArgLow(0)),
            Ins(JeqK, AF_UNIX, 3, 0), Ins(JeqK, AF_INET, 2, 0), Ins(JeqK, AF_INET6, 1, 0), Ins(JeqK, AF_NETLINK, 1, 4),
            Ins(RetK, RetAllow),
            Ins(LdAbsW, ArgLow(2)), Ins(JeqK, 0 /* NETLINK_ROUTE */, 0, 1), Ins(RetK, RetAllow),
            Ins(RetK, RetErrno | EPERM));
        Block(p, SysSocketPair, Ins(LdAbsW, ArgLow(0)), Ins(JeqK, AF_UNIX, 0, 1), Ins(RetK, RetAllow), Ins(RetK, RetErrno | EPERM));
        Block(p, SysOpenAt, Ins(LdAbsW, ArgLow(2)), Ins(JsetK, CreatingOpenFlags, 0, 1), Ins(RetK, RetErrno | EPERM), Ins(RetK, RetAllow));
        Block(p, SysOpen, Ins(LdAbsW, ArgLow(1)), Ins(JsetK, CreatingOpenFlags, 0, 1), Ins(RetK, RetErrno | EPERM), Ins(RetK, RetAllow));
        Block(p, SysExecveAt, Ins(LdAbsW, ArgLow(4)), Ins(JeqK, AtEmptyPath, 0, 1), Ins(RetK, RetAllow), Ins(RetK, RetErrno | EPERM));
        // The others: the number alone decides.
        foreach ((uint nr, _) in Allowed)
        {
            p.Add(Ins(JeqK, nr, 0, 1));
            p.Add(Ins(RetK, RetAllow));
        }
        p.Add(Ins(RetK, RetErrno | EPERM));
        return p.ToArray();
    }

    /// <summary>"if nr == <paramref name="nr"/> run <paramref name="body"/>" (the number stays loaded after it for the next test; the body ends in returns).</summary>
    private static void Block(List<SockFilter> p, uint nr, params SockFilter[] body)
    {
        p.Add(Ins(JeqK, nr, 0, (byte)body.Length));
        p.AddRange(body);
    }

    /// <summary>
    /// Installs the filter on every thread (SECCOMP_FILTER_FLAG_TSYNC); needs no_new_privs (or
    /// CAP_SYS_ADMIN). Returns 0 or -errno (a positive tid: that thread could not be synchronised).
    /// </summary>
    public static unsafe long Install()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return -ENOSYS;
        SockFilter[] program = Build();
        fixed (SockFilter* filter = program)
        {
            var fprog = new SockFprog { Length = (ushort)program.Length, Filter = filter };
            return RawSyscall.Checked(317 /* seccomp */, 1 /* SECCOMP_SET_MODE_FILTER */, 1 /* SECCOMP_FILTER_FLAG_TSYNC */, (long)&fprog);
        }
    }

    private static SockFilter Ins(ushort code, uint k, byte jt = 0, byte jf = 0) => new() { Code = code, JumpTrue = jt, JumpFalse = jf, K = k };
}
