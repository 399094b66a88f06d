using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;
using Xunit;

namespace RunscNet.Tests.Sentry.Exec;

public class WaitStatusTests
{
    [Theory]
    [InlineData(0, 0x0000)]
    [InlineData(42, 0x2a00)]
    [InlineData(300, 0x2c00)]
    public void ExitStatusEncoding(int code, int expected)
    {
        int s = WaitStatus.Exited(code);
        Assert.Equal(expected, s);
        Assert.True(WaitStatus.IsExited(s));
        Assert.Equal(code & 0xff, WaitStatus.ExitCode(s));
    }

    [Fact]
    public void SignalStopAndContinueEncodings()
    {
        Assert.Equal(15, WaitStatus.Signaled(15, false));
        Assert.Equal(0x8b, WaitStatus.Signaled(11, true));
        Assert.True(WaitStatus.IsSignaled(WaitStatus.Signaled(9, false)));
        Assert.Equal(9, WaitStatus.TermSignal(WaitStatus.Signaled(9, false)));
        Assert.Equal(0x137f, WaitStatus.Stopped(19));
        Assert.False(WaitStatus.IsSignaled(WaitStatus.Stopped(19)));
        Assert.Equal(0xffff, WaitStatus.Continued);
        Assert.Equal((SignalInfo.CLD_DUMPED, 11), WaitStatus.ToChildInfo(WaitStatus.Signaled(11, true)));
        Assert.Equal((SignalInfo.CLD_EXITED, 3), WaitStatus.ToChildInfo(WaitStatus.Exited(3)));
    }
}

public class SignalFrameTests
{
    [Fact]
    public void FrameIsAlignedBelowTheRedZone()
    {
        ulong sp = 0x7ffd_1234_5678;
        var (frame, fp) = SignalFrame.Place(sp);
        Assert.Equal(0UL, fp % 64);
        Assert.Equal(8UL, frame % 16);   // as after a call: (rsp + 8) is 16-aligned
        Assert.True(fp + FpuState.Size <= sp - SignalFrame.RedZone);
        Assert.True(frame + SignalFrame.FrameSize <= fp);
        Assert.Equal(440, SignalFrame.FrameSize);
    }

    [Fact]
    public void BuildAndRestoreRoundTripRegistersAndMask()
    {
        var r = new Registers
        {
            R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15, Rdi = 0xd1, Rsi = 0x51,
            Rbp = 0xb9, Rbx = 0xb8, Rdx = 0xd8, Rax = 0xa8, Rcx = 0xc8, Rsp = 0x7ffd_0000, Rip = 0x401234,
            Eflags = 0x246, Cs = 0x33, Ss = 0x2b,
        };
        var info = SignalInfo.FromUser(10, SignalInfo.SI_USER, 7, 1000);
        byte[] frame = SignalFrame.Build(r, 0x400500, 0x1234, new SignalFrame.AltStack(0, 2, 0), info, 0x7ffc_0000);
        Assert.Equal(0x400500UL, BinaryPrimitives.ReadUInt64LittleEndian(frame));
        Assert.Equal(10, BinaryPrimitives.ReadInt32LittleEndian(frame.AsSpan(SignalFrame.SigInfoOffset)));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(frame.AsSpan(SignalFrame.SigInfoOffset + 16)));

        var restored = new Registers { Cs = 0x33, Ss = 0x2b, Eflags = 0x202 };
        var (mask, stack, fp) = SignalFrame.Restore(frame.AsSpan(SignalFrame.UContextOffset, SignalFrame.UContextSize), ref restored);
        Assert.Equal(0x1234UL, mask);
        Assert.Equal(0x7ffc_0000UL, fp);
        Assert.Equal(2, stack.Flags);
        Assert.Equal(r.Rip, restored.Rip);
        Assert.Equal(r.Rsp, restored.Rsp);
        Assert.Equal(r.Rax, restored.Rax);
        Assert.Equal(r.R15, restored.R15);
        Assert.Equal(r.Rdi, restored.Rdi);
        Assert.Equal(0x246UL, restored.Eflags);
        Assert.Equal(ulong.MaxValue, restored.OrigRax);
    }

    [Fact]
    public void RestoreIgnoresPrivilegedFlags()
    {
        var r = new Registers { Eflags = 0x3246 };   // IOPL bits set in the frame
        byte[] frame = SignalFrame.Build(r, 0, 0, default, SignalInfo.FromKernel(11), 0);
        var restored = new Registers { Eflags = 0x202 };
        SignalFrame.Restore(frame.AsSpan(SignalFrame.UContextOffset, SignalFrame.UContextSize), ref restored);
        Assert.Equal(0UL, restored.Eflags & 0x3000);
    }
}

public class SignalQueueTests
{
    [Fact]
    public void StandardSignalsMergeRealtimeSignalsQueue()
    {
        var q = new SignalQueue();
        Assert.True(q.Enqueue(SignalInfo.FromKernel(Signal.SIGUSR1)));
        Assert.False(q.Enqueue(SignalInfo.FromKernel(Signal.SIGUSR1)));
        Assert.True(q.Enqueue(SignalInfo.FromKernel(Signal.SIGRTMIN)));
        Assert.True(q.Enqueue(SignalInfo.FromKernel(Signal.SIGRTMIN)));
        Assert.Equal(Signal.SIGUSR1, q.First(ulong.MaxValue));
        Assert.NotNull(q.Dequeue(Signal.SIGUSR1));
        Assert.Null(q.Dequeue(Signal.SIGUSR1));
        Assert.NotNull(q.Dequeue(Signal.SIGRTMIN));
        Assert.Equal(Signal.SIGRTMIN, q.First(ulong.MaxValue));
        Assert.NotNull(q.Dequeue(Signal.SIGRTMIN));
        Assert.Equal(0UL, q.Set);
    }

    [Fact]
    public void FaultSignalsComeFirstAndMaskIsHonoured()
    {
        var q = new SignalQueue();
        q.Enqueue(SignalInfo.FromKernel(Signal.SIGINT));
        q.Enqueue(SignalInfo.FromKernel(Signal.SIGSEGV));
        Assert.Equal(Signal.SIGSEGV, q.First(ulong.MaxValue));
        Assert.Equal(Signal.SIGINT, q.First(~Signal.Bit(Signal.SIGSEGV)));
        q.Discard(Signal.Bit(Signal.SIGINT));
        Assert.Equal(0, q.First(~Signal.Bit(Signal.SIGSEGV)));
    }

    [Fact]
    public void DefaultActions()
    {
        Assert.Equal(DefaultAction.CoreDump, Signal.DefaultActionOf(Signal.SIGSEGV));
        Assert.Equal(DefaultAction.Stop, Signal.DefaultActionOf(Signal.SIGTSTP));
        Assert.Equal(DefaultAction.Ignore, Signal.DefaultActionOf(Signal.SIGCHLD));
        Assert.Equal(DefaultAction.Continue, Signal.DefaultActionOf(Signal.SIGCONT));
        Assert.Equal(DefaultAction.Terminate, Signal.DefaultActionOf(Signal.SIGTERM));
        Assert.Equal(DefaultAction.Terminate, Signal.DefaultActionOf(40));
        var h = new SignalHandlers();
        h.Actions[Signal.SIGUSR1] = new SigAction { Handler = 0x401000 };
        h.Actions[Signal.SIGPIPE] = new SigAction { Handler = SigAction.Ignore };
        var e = h.ForExec();
        Assert.Equal(SigAction.Default, e.Actions[Signal.SIGUSR1].Handler);
        Assert.Equal(SigAction.Ignore, e.Actions[Signal.SIGPIPE].Handler);
        Assert.True(e.IsIgnored(Signal.SIGPIPE));
        Assert.True(e.IsIgnored(Signal.SIGCHLD));
        Assert.False(e.IsIgnored(Signal.SIGTERM));
    }
}

public class VmaSetTests
{
    private static Vma Anon(ulong s, ulong e, int prot = 3) => new(s, e, prot, Vma.MapPrivate | Vma.MapAnonymous, null, 0);

    [Fact]
    public void UnmapSplitsAVma()
    {
        var set = new VmaSet();
        set.Insert(Anon(0x10000, 0x20000));
        set.Remove(0x14000, 0x15000);
        Assert.Equal(new[] { (0x10000UL, 0x14000UL), (0x15000UL, 0x20000UL) }, set.All.Select(v => (v.Start, v.End)));
        Assert.False(set.IsFullyMapped(0x10000, 0x20000));
        Assert.True(set.IsFree(0x14000, 0x15000));
    }

    [Fact]
    public void ProtectSplitsAndKeepsFileOffsets()
    {
        var set = new VmaSet();
        set.Insert(new Vma(0x400000, 0x404000, 5, Vma.MapPrivate, "/bin/x", 0x1000));
        Assert.True(set.Protect(0x401000, 0x402000, 1));
        var all = set.All;
        Assert.Equal(3, all.Count);
        Assert.Equal((0x401000UL, 1, 0x2000UL), (all[1].Start, all[1].Prot, all[1].Offset));
        Assert.Equal(0x3000UL, all[2].Offset);
        Assert.False(set.Protect(0x404000, 0x405000, 1));
    }

    [Fact]
    public void FixedInsertReplacesOverlaps()
    {
        var set = new VmaSet();
        set.Insert(Anon(0x10000, 0x20000));
        set.Insert(Anon(0x18000, 0x28000, 1));
        Assert.Equal(new[] { (0x10000UL, 0x18000UL, 3), (0x18000UL, 0x28000UL, 1) }, set.All.Select(v => (v.Start, v.End, v.Prot)));
        Assert.Equal(1, set.Find(0x1f000)!.Prot);
        Assert.Null(set.Find(0x30000));
        var clone = set.Clone();
        set.Remove(0, 0x100000);
        Assert.Equal(2, clone.All.Count);
        Assert.Equal((0x18000UL, 0x28000UL, "r--p"), (clone.All[1].Start, clone.All[1].End, clone.All[1].Perms));
    }
}
