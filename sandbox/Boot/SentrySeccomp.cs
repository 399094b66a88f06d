using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// The seccomp-bpf filter of the boot process (the Sentry), installed on every thread once the
/// sandbox is set up. The Sentry runs a .NET runtime whose host calls are too many to list safely,
/// so this is a deny list of what a Sentry never needs after set-up and what would hand a
/// compromised Sentry the host: mounts and namespaces (the empty root must stay empty), execve
/// (stubs start by execveat of a memfd), kernel modules, kexec, reboot, swap, BPF, perf events,
/// userfaultfd, io_uring, keyrings, file handles (open_by_handle_at walks around any root), clocks,
/// syslog, port I/O, accounting and quotas. clone with a CLONE_NEW* flag is refused too, and clone3
/// answers ENOSYS (its flags are out of the filter's sight; glibc then uses clone). Refused calls
/// fail with EPERM; a foreign architecture (int 0x80) or a number with the x32 bit or beyond it
/// (negative numbers too) fails with ENOSYS.
/// The stubs inherit the filter: for the application's own calls it changes nothing, since a
/// stub's SECCOMP_RET_TRAP takes precedence over ERRNO and PTRACE_SYSEMU stops come before seccomp.
/// That is why nothing here kills: SECCOMP_RET_KILL_PROCESS would take precedence over the stub's
/// TRAP, and an application's syscall(-1) or x32 call (ENOSYS on Linux) would kill its process.
/// </summary>
internal static class SentrySeccomp
{
    /// <summary>Refused system calls (x86_64 numbers).</summary>
    public static readonly (uint Number, string Name)[] Denied =
    {
        (59, "execve"), (155, "pivot_root"), (161, "chroot"), (165, "mount"), (166, "umount2"),
        (272, "unshare"), (308, "setns"), (428, "open_tree"), (429, "move_mount"), (430, "fsopen"),
        (431, "fsconfig"), (432, "fsmount"), (433, "fspick"), (442, "mount_setattr"),
        (175, "init_module"), (313, "finit_module"), (176, "delete_module"), (246, "kexec_load"),
        (320, "kexec_file_load"), (169, "reboot"), (167, "swapon"), (168, "swapoff"), (321, "bpf"),
        (298, "perf_event_open"), (323, "userfaultfd"), (425, "io_uring_setup"), (426, "io_uring_enter"),
        (427, "io_uring_register"), (248, "add_key"), (249, "request_key"), (250, "keyctl"),
        (303, "name_to_handle_at"), (304, "open_by_handle_at"), (163, "acct"), (179, "quotactl"),
        (443, "quotactl_fd"), (164, "settimeofday"), (227, "clock_settime"), (159, "adjtimex"),
        (305, "clock_adjtime"), (103, "syslog"), (172, "iopl"), (173, "ioperm"), (170, "sethostname"),
        (171, "setdomainname"), (133, "mknod"), (259, "mknodat"), (134, "uselib"), (153, "vhangup"),
        (300, "fanotify_init"), (135, "personality"), (312, "kcmp"), (212, "lookup_dcookie"),
    };

    /// <summary>CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME.</summary>
    public const uint NamespaceCloneFlags = 0x7E020080;

    private const ushort LdAbsW = 0x20, JeqK = 0x15, JgeK = 0x35, JsetK = 0x45, RetK = 0x06;
    private const uint AuditArchX86_64 = 0xC000003E, X32Bit = 0x40000000;
    private const uint RetErrno = 0x00050000, RetAllow = 0x7FFF0000;
    private const uint EPERM = 1, ENOSYS = 38;
    private const uint OffNr = 0, OffArch = 4, OffArg0Low = 16;
    private const uint SysClone = 56, SysClone3 = 435;

    /// <summary>The program as struct sock_filter entries.</summary>
    public static SockFilter[] Build()
    {
        var p = new List<SockFilter>
        {
            Ins(LdAbsW, OffArch),
            Ins(JeqK, AuditArchX86_64, 1, 0),
            Ins(RetK, RetErrno | ENOSYS),
            Ins(LdAbsW, OffNr),
            Ins(JgeK, X32Bit, 0, 1),
            Ins(RetK, RetErrno | ENOSYS),
        };
        foreach ((uint nr, _) in Denied)
        {
            p.Add(Ins(JeqK, nr, 0, 1));
            p.Add(Ins(RetK, RetErrno | EPERM));
        }
        p.Add(Ins(JeqK, SysClone3, 0, 1));
        p.Add(Ins(RetK, RetErrno | ENOSYS));
        // clone: no new namespaces.
        p.Add(Ins(JeqK, SysClone, 0, 3));
        p.Add(Ins(LdAbsW, OffArg0Low));
        p.Add(Ins(JsetK, NamespaceCloneFlags, 0, 1));
        p.Add(Ins(RetK, RetErrno | EPERM));
        p.Add(Ins(RetK, RetAllow));
        return p.ToArray();
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

    private static SockFilter Ins(ushort code, uint k, byte jt = 0, byte jf = 0) => new() { Code = code, Jt = jt, Jf = jf, K = k };

    /// <summary>struct sock_filter.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockFilter
    {
        public ushort Code;
        public byte Jt;
        public byte Jf;
        public uint K;
    }

    /// <summary>struct sock_fprog.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }
}
