using RunscNet.Sentry.Boot;
using Xunit;

namespace RunscNet.Tests.Security;

/// <summary>
/// The Sentry's allow-list seccomp program, run by a small classic-BPF interpreter over
/// (system call, arguments) → verdict: what a Sentry taken over by the application could still
/// ask the host kernel for. (Whether the Sentry still works under it is the whole integration
/// suite's business.)
/// </summary>
public sealed class SentrySeccompFilterTests
{
    private const uint Allow = SentrySeccomp.RetAllow, Eperm = SentrySeccomp.RetErrno | 1, Enosys = SentrySeccomp.RetErrno | 38;
    private const uint X86_64 = 0xC000003E;

    /// <summary>Runs the program over struct seccomp_data { nr, arch, ip, args[6] }.</summary>
    private static uint Run(uint nr, ulong[]? args = null, uint arch = X86_64)
    {
        var data = new byte[64];
        BitConverter.GetBytes(nr).CopyTo(data, 0);
        BitConverter.GetBytes(arch).CopyTo(data, 4);
        for (int i = 0; i < (args?.Length ?? 0); i++) BitConverter.GetBytes(args![i]).CopyTo(data, 16 + 8 * i);
        var program = SentrySeccomp.Build();
        Assert.True(program.Length <= 4096);
        uint a = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            var ins = program[pc];
            switch (ins.Code)
            {
                case 0x20: // BPF_LD | BPF_W | BPF_ABS
                    Assert.True(ins.K % 4 == 0 && ins.K + 4 <= data.Length, $"load out of seccomp_data at {pc}");
                    a = BitConverter.ToUInt32(data, (int)ins.K);
                    break;
                case 0x15: pc += a == ins.K ? ins.JumpTrue : ins.JumpFalse; break;           // JEQ K
                case 0x35: pc += a >= ins.K ? ins.JumpTrue : ins.JumpFalse; break;           // JGE K
                case 0x45: pc += (a & ins.K) != 0 ? ins.JumpTrue : ins.JumpFalse; break;     // JSET K
                case 0x06: return ins.K;                                        // RET K
                default: throw new Xunit.Sdk.XunitException($"unexpected BPF opcode 0x{ins.Code:x} at {pc}");
            }
            Assert.True(pc + 1 <= program.Length, $"jump past the end at {pc}");
        }
        throw new Xunit.Sdk.XunitException("the program fell off its end");
    }

    [Theory]
    // What the Sentry and its stubs do all day.
    [InlineData(0u, "read")]
    [InlineData(1u, "write")]
    [InlineData(9u, "mmap")]
    [InlineData(202u, "futex")]
    [InlineData(101u, "ptrace")]
    [InlineData(310u, "process_vm_readv")]
    [InlineData(319u, "memfd_create")]
    [InlineData(438u, "pidfd_getfd")]
    [InlineData(15u, "rt_sigreturn")]
    [InlineData(231u, "exit_group")]
    public void EverydayCallsAreAllowed(uint nr, string name)
    {
        Assert.True(Run(nr) == Allow, name);
    }

    [Theory]
    [InlineData(59u, "execve")]
    [InlineData(165u, "mount")]
    [InlineData(166u, "umount2")]
    [InlineData(155u, "pivot_root")]
    [InlineData(161u, "chroot")]
    [InlineData(272u, "unshare")]
    [InlineData(308u, "setns")]
    [InlineData(428u, "open_tree")]
    [InlineData(429u, "move_mount")]
    [InlineData(430u, "fsopen")]
    [InlineData(175u, "init_module")]
    [InlineData(313u, "finit_module")]
    [InlineData(246u, "kexec_load")]
    [InlineData(169u, "reboot")]
    [InlineData(321u, "bpf")]
    [InlineData(298u, "perf_event_open")]
    [InlineData(323u, "userfaultfd")]
    [InlineData(425u, "io_uring_setup")]
    [InlineData(250u, "keyctl")]
    [InlineData(304u, "open_by_handle_at")]
    [InlineData(227u, "clock_settime")]
    [InlineData(170u, "sethostname")]
    [InlineData(83u, "mkdir")]
    [InlineData(258u, "mkdirat")]
    [InlineData(87u, "unlink")]
    [InlineData(263u, "unlinkat")]
    [InlineData(82u, "rename")]
    [InlineData(316u, "renameat2")]
    [InlineData(88u, "symlink")]
    [InlineData(265u, "linkat")]
    [InlineData(133u, "mknod")]
    [InlineData(80u, "chdir")]
    [InlineData(90u, "chmod")]
    [InlineData(92u, "chown")]
    [InlineData(105u, "setuid")]
    [InlineData(117u, "setresuid")]
    [InlineData(116u, "setgroups")]
    [InlineData(85u, "creat")]
    [InlineData(135u, "personality")]
    [InlineData(312u, "kcmp")]
    [InlineData(999u, "an unknown number")]
    public void DangerousCallsAreRefusedWithEperm(uint nr, string name)
    {
        Assert.True(Run(nr) == Eperm, name);
    }

    [Fact]
    public void CloneOnlyWithoutNewNamespaces()
    {
        const ulong glibcThread = 0x3d0f00, stubThread = 0x250f00, stubFork = 0x8000, newStub = 0, fork = 17;
        foreach (ulong flags in new[] { glibcThread, stubThread, stubFork, newStub, fork, 0x1000UL /* CLONE_PIDFD */ })
            Assert.Equal(Allow, Run(56, [flags]));
        foreach (ulong ns in new ulong[] { 0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000 })
        {
            Assert.Equal(Eperm, Run(56, [ns]));
            Assert.Equal(Eperm, Run(56, [ns | stubFork]));
        }
        Assert.Equal(Eperm, Run(56, [0x2000 /* CLONE_PTRACE */]));
        Assert.Equal(Eperm, Run(56, [1UL << 32 /* CLONE_CLEAR_SIGHAND, a clone3 flag */]));
        // clone3 keeps its flags in memory BPF cannot read: ENOSYS (glibc then uses clone).
        Assert.Equal(Enosys, Run(435, [0]));
    }

    [Fact]
    public void SocketsOnlyOfTheServedFamilies()
    {
        foreach (ulong family in new ulong[] { 1, 2, 10 }) Assert.Equal(Allow, Run(41, [family, 1, 0]));
        Assert.Equal(Allow, Run(41, [16, 3, 0 /* NETLINK_ROUTE */]));
        Assert.Equal(Eperm, Run(41, [16, 3, 9 /* NETLINK_AUDIT */]));
        Assert.Equal(Eperm, Run(41, [16, 3, 12 /* NETLINK_NETFILTER */]));
        Assert.Equal(Eperm, Run(41, [17 /* AF_PACKET */, 3, 0x300]));
        Assert.Equal(Eperm, Run(41, [38 /* AF_ALG */, 5, 0]));
        Assert.Equal(Eperm, Run(41, [40 /* AF_VSOCK */, 1, 0]));
        Assert.Equal(Allow, Run(53, [1, 5, 0]));
        Assert.Equal(Eperm, Run(53, [2, 1, 0]));
    }

    [Fact]
    public void OpenNeverCreatesAndExecOnlyFromAnFd()
    {
        const ulong oRdonly = 0, oRdwr = 2, oCreat = 0x40, oTmpfile = 0x410000, oCloexec = 0x80000, atFdcwd = unchecked((ulong)-100L);
        Assert.Equal(Allow, Run(257, [atFdcwd, 0x1000, oRdonly | oCloexec]));
        Assert.Equal(Allow, Run(257, [3, 0x1000, oRdwr]));
        Assert.Equal(Eperm, Run(257, [atFdcwd, 0x1000, oRdwr | oCreat]));
        Assert.Equal(Eperm, Run(257, [atFdcwd, 0x1000, oTmpfile | oRdwr]));
        Assert.Equal(Allow, Run(2, [0x1000, oRdonly]));
        Assert.Equal(Eperm, Run(2, [0x1000, oCreat | 1]));
        // execveat(memfd, "", argv, envp, AT_EMPTY_PATH) only; execve never.
        Assert.Equal(Allow, Run(322, [5, 0x1000, 0x2000, 0x3000, 0x1000]));
        Assert.Equal(Eperm, Run(322, [atFdcwd, 0x1000, 0x2000, 0x3000, 0]));
        Assert.Equal(Eperm, Run(322, [5, 0x1000, 0x2000, 0x3000, 0x1100 /* | AT_SYMLINK_NOFOLLOW */]));
        Assert.Equal(Eperm, Run(59, [0x1000, 0x2000, 0x3000]));
    }

    [Fact]
    public void OtherArchitecturesAndX32GetEnosysNotAKill()
    {
        // An ERRNO here leaves a stub's own TRAP in force for the application's int 0x80.
        Assert.Equal(Enosys, Run(1, arch: 0x40000003 /* i386 */));
        Assert.Equal(Enosys, Run(0x40000000 | 1));
    }

    [Fact]
    public void EveryVerdictIsAllowOrAnErrnoSoTheStubsTrapStillWins()
    {
        foreach (var ins in SentrySeccomp.Build())
            if (ins.Code == 0x06) Assert.True(ins.K == Allow || (ins.K & 0xFFFF0000) == SentrySeccomp.RetErrno, $"verdict 0x{ins.K:x}");
    }
}
