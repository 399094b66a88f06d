using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Platform.Systrap;
using Xunit;

namespace RunscNet.Tests.Sentry.Systrap;

/// <summary>The systrap platform driven directly: stops, results, faults, kicks, FS base, FPU, fork.</summary>
[Collection("systrap stubs")]
public class SystrapContextTests
{
    private static readonly SystrapPlatform Platform = new();

    [Fact]
    public void SystemCallStopsCarryNumberArgumentsAndReturnTheResult()
    {
        using var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.SyscallLoop);
        ctx.Regs.Rax = 1234;
        ctx.Regs.Rdi = 11; ctx.Regs.Rsi = 22; ctx.Regs.Rdx = 33; ctx.Regs.R10 = 44; ctx.Regs.R8 = 55; ctx.Regs.R9 = 66;
        ctx.Regs.Rbx = 0x1122334455667788;
        Assert.Equal(StopReason.Syscall, ctx.Run());
        Assert.Equal(1234UL, ctx.Regs.OrigRax);
        Assert.Equal((11UL, 22UL, 33UL, 44UL, 55UL, 66UL), (ctx.Regs.Rdi, ctx.Regs.Rsi, ctx.Regs.Rdx, ctx.Regs.R10, ctx.Regs.R8, ctx.Regs.R9));
        Assert.Equal(StubProgram.CodeAddress + 2, ctx.Regs.Rip);
        Assert.Equal(0x1122334455667788UL, ctx.Regs.Rbx);
        // The loop issues the next call with the previous result as its number.
        for (ulong i = 0; i < 100; i++)
        {
            ctx.Regs.Rax = 2000 + i;
            Assert.Equal(StopReason.Syscall, ctx.Run());
            Assert.Equal(2000 + i, ctx.Regs.OrigRax);
        }
    }

    [Fact]
    public void IllegalInstructionIsAFaultWithSiginfo()
    {
        using var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.IllegalInstruction);
        Assert.Equal(StopReason.Fault, ctx.Run());
        Assert.Equal(4, BitConverter.ToInt32(ctx.FaultInfo));           // SIGILL
        Assert.Equal(StubProgram.CodeAddress, ctx.Regs.Rip);
    }

    [Fact]
    public void BadLoadIsASegvWithTheAddress()
    {
        using var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.NullLoad);
        Assert.Equal(StopReason.Fault, ctx.Run());
        Assert.Equal(11, BitConverter.ToInt32(ctx.FaultInfo));          // SIGSEGV
        Assert.Equal(8UL, BitConverter.ToUInt64(ctx.FaultInfo[16..]));  // si_addr
    }

    [Fact]
    public void KickInterruptsASpinningThread()
    {
        using var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.Spin);
        using var stop = new CancellationTokenSource();
        var kicker = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                ctx.Kick();
                Thread.Sleep(10);
            }
        });
        kicker.Start();
        var reason = ctx.Run();
        stop.Cancel();
        kicker.Join();
        Assert.Equal(StopReason.Interrupted, reason);
        Assert.InRange(ctx.Regs.Rip, StubProgram.CodeAddress, StubProgram.CodeAddress + 1);
    }

    [Fact]
    public void FsBaseIsAppliedBeforeResuming()
    {
        using var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.LoadFsWordThenSyscall);
        Assert.Equal(8, ctx.Memory.Write(StubProgram.DataAddress + 0x40, BitConverter.GetBytes(777UL)));
        ctx.Regs.FsBase = StubProgram.DataAddress + 0x40;
        Assert.Equal(StopReason.Syscall, ctx.Run());
        Assert.Equal(777UL, ctx.Regs.OrigRax);
        Assert.Equal(StubProgram.DataAddress + 0x40, ctx.Regs.FsBase);
    }

    [Fact]
    public unsafe void FpuStateIsWrittenAndRead()
    {
        using var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.Xmm0ThenSyscall);
        var fpu = FpuState.Initial();
        *(ulong*)(fpu.Bytes + 160) = 0xabcdef;   // xmm0 in the fxsave area
        ctx.SetFpu(fpu);
        Assert.Equal(StopReason.Syscall, ctx.Run());
        Assert.Equal(0xabcdefUL, ctx.Regs.OrigRax);
        ctx.GetFpu(out var back);
        Assert.Equal(0xabcdefUL, *(ulong*)(back.Bytes + 160));
        Assert.Equal(0x1f80, *(ushort*)(back.Bytes + 24) & 0xffbf);   // MXCSR (the DAZ-free default)
    }

    [Fact]
    public void HostCallsOutsideTheStubAllowlistAreRefused()
    {
        using var ctx = Platform.NewAddressSpace();
        Assert.Equal(-1, ctx.HostSyscall(39));                          // getpid: EPERM from the stub's filter
        Assert.Equal(-1, ctx.HostSyscall(56, 0x11));                     // clone with other flags: EPERM
        long at = ctx.HostSyscall(9, 0, 0x1000, 3, 0x22, ulong.MaxValue, 0);
        Assert.True(at > 0);
        Assert.Equal(0, ctx.HostSyscall(11, (ulong)at, 0x1000));
    }

    [Fact]
    public void ForkGivesTheChildACopyOfMemoryAndItsOwnPage()
    {
        using var parent = Platform.NewAddressSpace();
        StubProgram.Load(parent, StubProgram.LoadDataThenSyscall);
        Assert.Equal(8, parent.Memory.Write(StubProgram.DataAddress, BitConverter.GetBytes(111UL)));
        var forked = parent.ForkAddressSpace(out int errno);
        Assert.Equal(0, errno);
        Assert.NotNull(forked);
        Registers regs = parent.Regs;
        parent.GetFpu(out var fpu);
        IPlatformContext? child = null;
        var t = new Thread(() => child = Platform.AdoptForked(forked!, regs, fpu));
        t.Start();
        t.Join();
        using var c = child!;
        Assert.NotEqual(parent.HostPid, c.HostPid);
        Assert.Equal(8, c.Memory.Write(StubProgram.DataAddress, BitConverter.GetBytes(222UL)));
        Assert.Equal(StopReason.Syscall, c.Run());
        Assert.Equal(222UL, c.Regs.OrigRax);
        Assert.Equal(StopReason.Syscall, parent.Run());
        Assert.Equal(111UL, parent.Regs.OrigRax);
    }

    [Fact]
    public void ParentKeepsWorkingAfterAnAbandonedFork()
    {
        using var parent = Platform.NewAddressSpace();
        StubProgram.Load(parent, StubProgram.LoadDataThenSyscall);
        Assert.Equal(8, parent.Memory.Write(StubProgram.DataAddress, BitConverter.GetBytes(333UL)));
        var forked = parent.ForkAddressSpace(out int errno);
        Assert.Equal(0, errno);
        forked!.Abandon();
        var again = parent.ForkAddressSpace(out errno);
        Assert.Equal(0, errno);
        using var child = Platform.AdoptForked(again!, parent.Regs, FpuState.Initial());
        Assert.Equal(StopReason.Syscall, child.Run());
        Assert.Equal(333UL, child.Regs.OrigRax);
        Assert.Equal(StopReason.Syscall, parent.Run());
        Assert.Equal(333UL, parent.Regs.OrigRax);
    }

    [Fact]
    public void KilledStubReportsDied()
    {
        var ctx = Platform.NewAddressSpace();
        StubProgram.Load(ctx, StubProgram.Spin);
        var killer = new Thread(() =>
        {
            Thread.Sleep(50);
            Assert.Equal(0, Kill(ctx.HostPid, 9));
        });
        killer.Start();
        Assert.Equal(StopReason.Died, ctx.Run());
        killer.Join();
        ctx.Dispose();
    }

    private static int Kill(int pid, int sig) => Tmds.Linux.LibC.kill(pid, sig);
}
