using RunscNet.Gofer.Interop;
using RunscNet.Gofer.Process;
using Xunit;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// The gofer's seccomp program, run through a small classic-BPF interpreter with the kernel's
/// seccomp_data layout, so every jump offset and argument check is exercised without installing it.
/// </summary>
public sealed class SeccompFilterTests
{
    private const uint X86_64 = 0xC000003E;
    private const uint Allow = 0x7FFF0000, Kill = 0x80000000, ErrnoBase = 0x00050000;
    private const int Pid = 4242;

    /// <summary>Runs the program on (arch, nr, args) like the kernel does; returns the SECCOMP_RET_* value.</summary>
    private static uint Run(SockFilter[] program, uint nr, ulong[]? args = null, uint arch = X86_64)
    {
        Assert.True(program.Length <= 4096);
        byte[] data = new byte[64];
        BitConverter.TryWriteBytes(data.AsSpan(0), nr);
        BitConverter.TryWriteBytes(data.AsSpan(4), arch);
        for (int i = 0; i < (args?.Length ?? 0); i++)
        {
            BitConverter.TryWriteBytes(data.AsSpan(16 + i * 8), args![i]);
        }
        uint a = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            SockFilter f = program[pc];
            switch (f.Code)
            {
                case 0x20: Assert.True(f.K + 4 <= 64); a = BitConverter.ToUInt32(data, (int)f.K); break;
                case 0x54: a &= f.K; break;
                case 0x15: pc += a == f.K ? f.JumpTrue : f.JumpFalse; break;
                case 0x35: pc += a >= f.K ? f.JumpTrue : f.JumpFalse; break;
                case 0x45: pc += (a & f.K) != 0 ? f.JumpTrue : f.JumpFalse; break;
                case 0x06: return f.K;
                default: Assert.Fail($"unexpected BPF opcode 0x{f.Code:x} at {pc}"); break;
            }
        }
        Assert.Fail("the program fell off its end");
        return 0;
    }

    private static SockFilter[] Program(SeccompFilter.Violation v = SeccompFilter.Violation.KillProcess) => SeccompFilter.Build(v, Pid);

    [Fact]
    public void EveryListedCallIsAllowed()
    {
        SockFilter[] p = Program();
        foreach ((uint number, string name) in SeccompFilter.Allowed)
        {
            Assert.True(Run(p, number) == Allow, name);
        }
    }

    [Theory]
    [InlineData(165u)] // mount
    [InlineData(166u)] // umount2
    [InlineData(155u)] // pivot_root
    [InlineData(101u)] // ptrace
    [InlineData(59u)]  // execve
    [InlineData(322u)] // execveat
    [InlineData(62u)]  // kill
    [InlineData(16u)]  // ioctl
    [InlineData(308u)] // setns
    [InlineData(272u)] // unshare
    [InlineData(57u)]  // fork
    [InlineData(58u)]  // vfork
    [InlineData(105u)] // setuid
    [InlineData(126u)] // capset
    [InlineData(437u)] // openat2 (not used)
    [InlineData(2u)]   // open (only the *at forms)
    public void UnlistedCallsAreRefused(uint nr)
    {
        Assert.Equal(Kill, Run(Program(), nr));
        Assert.Equal(ErrnoBase | Errno.EPERM, Run(Program(SeccompFilter.Violation.Errno), nr));
    }

    [Fact]
    public void ForeignArchitecturesAndX32AreKilled()
    {
        Assert.Equal(Kill, Run(Program(), 257, arch: 0x40000003)); // i386
        Assert.Equal(Kill, Run(Program(SeccompFilter.Violation.Errno), 0x40000000 | 257u));
    }

    [Fact]
    public void ArgumentChecks()
    {
        SockFilter[] p = Program();
        Assert.Equal(Allow, Run(p, 41, new ulong[] { 1, 1 }));                   // socket(AF_UNIX)
        Assert.Equal(ErrnoBase | Errno.EAFNOSUPPORT, Run(p, 41, new ulong[] { 2 })); // socket(AF_INET)
        Assert.Equal(Allow, Run(p, 56, new ulong[] { 0x3D0F00 }));               // clone of a thread (glibc flags)
        Assert.Equal(Kill, Run(p, 56, new ulong[] { 17 }));                      // clone(SIGCHLD) = fork
        Assert.Equal(Kill, Run(p, 56, new ulong[] { 0x3D0F00 | 0x10000000 }));   // a thread in a new user namespace
        Assert.Equal(Kill, Run(p, 56, new ulong[] { 0x3D0F00 | 0x00020000 }));   // ... a new mount namespace
        Assert.Equal(Kill, Run(p, 56, new ulong[] { 0x3D0F00 | 0x40000000 }));   // ... a new network namespace
        Assert.Equal(ErrnoBase | Errno.ENOSYS, Run(p, 435));                     // clone3
        Assert.Equal(Allow, Run(p, 157, new ulong[] { 15 }));                    // prctl(PR_SET_NAME)
        Assert.Equal(Allow, Run(p, 157, new ulong[] { 16 }));                    // prctl(PR_GET_NAME)
        Assert.Equal(Kill, Run(p, 157, new ulong[] { 24 }));                     // prctl(PR_CAPBSET_DROP)
        Assert.Equal(Kill, Run(p, 157, new ulong[] { 4 }));                      // prctl(PR_SET_DUMPABLE)
        Assert.Equal(Allow, Run(p, 234, new ulong[] { Pid, 77, 10 }));           // tgkill of an own thread
        Assert.Equal(Kill, Run(p, 234, new ulong[] { 1, 1, 9 }));                // tgkill of init
        Assert.Equal(Allow, Run(p, 302, new ulong[] { 0 }));                     // prlimit64(0, ...)
        Assert.Equal(Allow, Run(p, 302, new ulong[] { Pid }));
        Assert.Equal(Kill, Run(p, 302, new ulong[] { 1 }));
        Assert.Equal(Allow, Run(p, 259, new ulong[] { 3, 0, 0x1000 | 0x1A4 }));  // mknodat FIFO
        Assert.Equal(Allow, Run(p, 259, new ulong[] { 3, 0, 0xC000 | 0x1A4 }));  // mknodat socket
        Assert.Equal(Allow, Run(p, 259, new ulong[] { 3, 0, 0x1A4 }));           // mknodat regular
        Assert.Equal(Kill, Run(p, 259, new ulong[] { 3, 0, 0x2000 | 0x1A4, 0x103 })); // char device
        Assert.Equal(Kill, Run(p, 259, new ulong[] { 3, 0, 0x6000 | 0x1A4, 0x800 })); // block device
    }
}
