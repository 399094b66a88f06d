namespace RunscNet.Sentry.Platform.Systrap;

/// <summary>
/// The classic-BPF seccomp program every systrap stub installs before it runs application code:
/// <list type="bullet">
/// <item>a system call from outside the stub's code page (the application) returns
/// SECCOMP_RET_TRAP: the kernel skips it and raises SIGSYS, whose handler hands it to the Sentry;</item>
/// <item>a system call from the stub's code page (the handler itself) is allowed only for the few
/// calls the handler makes (futex, rt_sigreturn, the memory calls the Sentry requests, fork with
/// exactly CLONE_PARENT | CLONE_PIDFD, a new stub thread with exactly <see cref="SystrapStub.ThreadCloneFlags"/>, ...), everything else fails with EPERM, so code that jumps into the stub
/// cannot reach the rest of the host kernel; the calls that make kernel objects (clone, memfd_create,
/// socketpair) go to the Sentry first (SECCOMP_RET_USER_NOTIF), which lets them through only for its own commands;</item>
/// <item>a call of another architecture (int 0x80) fails with ENOSYS.</item>
/// </list>
/// </summary>
internal static class StubSeccompFilter
{
    private const ushort LdAbsW = 0x20, JeqK = 0x15, JgeK = 0x35, RetK = 0x06;
    private const uint AuditArchX86_64 = 0xc000003e;
    private const uint RetAllow = 0x7fff0000, RetUserNotif = 0x7fc00000, RetTrap = 0x00030000, RetErrno = 0x00050000;
    private const uint ENOSYS = 38, EPERM = 1;
    private const uint OffNr = 0, OffArch = 4, OffIpLow = 8, OffIpHigh = 12, OffArg0Low = 16, OffArg0High = 20;

    /// <summary>System calls the stub's own code may make (clone is checked separately).</summary>
    public static readonly int[] StubSyscalls =
    {
        15,  // rt_sigreturn
        202, // futex
        9,   // mmap
        10,  // mprotect
        11,  // munmap
        25,  // mremap
        26,  // msync
        28,  // madvise
        158, // arch_prctl
        3,   // close
        110, // getppid
        60,  // exit
        231, // exit_group
        77,  // ftruncate
        47,  // recvmsg (receiving such an fd)
        131, // sigaltstack (a new thread's own alternate stack)
        14,  // rt_sigprocmask (a new thread unblocks its signals)
        462, // mseal (the Sentry seals the stub's code page once it is ready)
    };

    /// <summary>
    /// Calls that make kernel objects (socketpair; clone is checked separately; memfd_create is
    /// refused: the Sentry makes the page memfds itself):
    /// SECCOMP_RET_USER_NOTIF, let through by <see cref="StubSyscallApprover"/> only for a command of the Sentry.
    /// </summary>
    public static readonly int[] ApprovedSyscalls = { 53 };

    /// <summary>clone's permitted flags word for a fork from the stub: CLONE_PARENT | CLONE_PIDFD, exit signal 0.</summary>
    public const ulong ForkFlags = 0x9000;

    /// <summary>Builds the program as struct sock_filter entries (8 bytes each).</summary>
    /// <param name="codeStart">First address of the stub's code page.</param>
    /// <param name="codeEnd">End of the stub's code (exclusive); must share the high 32 bits with the start.</param>
    public static byte[] Build(ulong codeStart, ulong codeEnd)
    {
        if (codeStart >> 32 != (codeEnd - 1) >> 32) throw new ArgumentException("stub code must not cross a 4 GiB boundary");
        var p = new List<(ushort Code, string? Jt, string? Jf, uint K, string? Label)>();
        void Ins(ushort code, uint k, string? jt = null, string? jf = null) => p.Add((code, jt, jf, k, null));
        void Label(string name) => p.Add((0, null, null, 0, name));

        Ins(LdAbsW, OffArch);
        Ins(JeqK, AuditArchX86_64, jf: "enosys");
        Ins(LdAbsW, OffIpHigh);
        Ins(JeqK, (uint)(codeStart >> 32), jf: "trap");
        Ins(LdAbsW, OffIpLow);
        Ins(JgeK, (uint)codeStart, jf: "trap");
        Ins(JgeK, (uint)codeEnd, jt: "trap");
        Ins(LdAbsW, OffNr);
        foreach (int nr in StubSyscalls) Ins(JeqK, (uint)nr, jt: "allow");
        foreach (int nr in ApprovedSyscalls) Ins(JeqK, (uint)nr, jt: "notify");
        Ins(JeqK, 56, jt: "clone");
        Ins(RetK, RetErrno | EPERM);
        Label("clone");
        Ins(LdAbsW, OffArg0Low);
        Ins(JeqK, (uint)ForkFlags, jt: "cloneHigh");
        Ins(JeqK, (uint)SystrapStub.ThreadCloneFlags, jf: "eperm");
        Label("cloneHigh");
        Ins(LdAbsW, OffArg0High);
        Ins(JeqK, 0, jt: "notify");
        Label("eperm");
        Ins(RetK, RetErrno | EPERM);
        Label("allow");
        Ins(RetK, RetAllow);
        Label("notify");
        Ins(RetK, RetUserNotif);
        Label("trap");
        Ins(RetK, RetTrap);
        Label("enosys");
        Ins(RetK, RetErrno | ENOSYS);

        var labels = new Dictionary<string, int>();
        int index = 0;
        foreach (var i in p)
        {
            if (i.Label != null) labels[i.Label] = index;
            else index++;
        }
        var bytes = new byte[index * 8];
        index = 0;
        foreach (var i in p)
        {
            if (i.Label != null) continue;
            byte Offset(string? label) => label == null ? (byte)0 : checked((byte)(labels[label] - index - 1));
            var s = bytes.AsSpan(index * 8);
            BitConverter.TryWriteBytes(s, i.Code);
            s[2] = Offset(i.Jt);
            s[3] = Offset(i.Jf);
            BitConverter.TryWriteBytes(s[4..], i.K);
            index++;
        }
        return bytes;
    }
}
