using System.Buffers.Binary;
using RunscNet.Sentry.Platform;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// The x86-64 <c>rt_sigframe</c> the Sentry writes on the application stack to run a handler,
/// and reads back in rt_sigreturn. Layout (offsets from the frame): pretcode (8), ucontext
/// (uc_flags 8, uc_link 8, uc_stack 24, sigcontext 256, uc_sigmask 8 = 304 bytes), siginfo (128).
/// The 512-byte fxsave area lives below the frame, 64-byte aligned, pointed to by sigcontext.fpstate.
/// </summary>
internal static class SignalFrame
{
    /// <summary>Size of rt_sigframe.</summary>
    public const int FrameSize = 8 + UContextSize + SignalInfo.Size;
    /// <summary>Size of the kernel's ucontext.</summary>
    public const int UContextSize = 304;
    /// <summary>Offset of the ucontext in the frame.</summary>
    public const int UContextOffset = 8;
    /// <summary>Offset of the siginfo in the frame.</summary>
    public const int SigInfoOffset = 8 + UContextSize;
    /// <summary>Offset of sigcontext (uc_mcontext) within the ucontext.</summary>
    public const int MContextOffset = 40;
    /// <summary>Offset of uc_sigmask within the ucontext.</summary>
    public const int SigMaskOffset = MContextOffset + 256;
    /// <summary>x86-64 red zone below the stack pointer that a frame must skip.</summary>
    public const ulong RedZone = 128;

    /// <summary>The alternate signal stack description (stack_t).</summary>
    public readonly record struct AltStack(ulong Sp, int Flags, ulong Size);

    /// <summary>Where the fpstate and the frame go for a handler run with stack pointer <paramref name="sp"/>.</summary>
    public static (ulong FrameAddress, ulong FpAddress) Place(ulong sp)
    {
        sp -= RedZone;
        ulong fp = (sp - (ulong)FpuState.Size) & ~63UL;
        ulong frame = ((fp - (ulong)FrameSize) & ~15UL) - 8;
        return (frame, fp);
    }

    /// <summary>Builds the frame bytes.</summary>
    public static byte[] Build(in Registers r, ulong restorer, ulong oldMask, AltStack stack, SignalInfo info, ulong fpAddress)
    {
        var f = new byte[FrameSize];
        var s = f.AsSpan();
        W(s, 0, restorer);
        var uc = s[UContextOffset..];
        W(uc, 0, 0x6);                     // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
        W(uc, 8, 0);
        W(uc, 16, stack.Sp);
        BinaryPrimitives.WriteInt32LittleEndian(uc[24..], stack.Flags);
        W(uc, 32, stack.Size);
        var mc = uc[MContextOffset..];
        ulong[] gp = { r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15, r.Rdi, r.Rsi, r.Rbp, r.Rbx, r.Rdx, r.Rax, r.Rcx, r.Rsp, r.Rip, r.Eflags };
        for (int i = 0; i < gp.Length; i++) W(mc, i * 8, gp[i]);
        BinaryPrimitives.WriteUInt16LittleEndian(mc[144..], (ushort)r.Cs);
        BinaryPrimitives.WriteUInt16LittleEndian(mc[146..], (ushort)r.Gs);
        BinaryPrimitives.WriteUInt16LittleEndian(mc[148..], (ushort)r.Fs);
        BinaryPrimitives.WriteUInt16LittleEndian(mc[150..], (ushort)r.Ss);
        W(mc, 152, 0);                     // err
        W(mc, 160, 0);                     // trapno
        W(mc, 168, oldMask);               // oldmask
        W(mc, 176, 0);                     // cr2
        W(mc, 184, fpAddress);             // fpstate
        W(uc, SigMaskOffset, oldMask);
        info.Bytes.CopyTo(s[SigInfoOffset..]);
        return f;
    }

    /// <summary>
    /// Restores registers from a ucontext read back by rt_sigreturn. Keeps segment registers and
    /// lets only the user-changeable flags (CF..OF, AC, RF) come from the frame.
    /// Returns the saved mask, altstack and fpstate address.
    /// </summary>
    public static (ulong Mask, AltStack Stack, ulong FpAddress) Restore(ReadOnlySpan<byte> ucontext, ref Registers r)
    {
        var mcArr = ucontext[MContextOffset..].ToArray();
        ReadOnlySpan<byte> mc = mcArr;
        ulong G(int i) => BinaryPrimitives.ReadUInt64LittleEndian(mcArr.AsSpan(i * 8));
        r.R8 = G(0); r.R9 = G(1); r.R10 = G(2); r.R11 = G(3); r.R12 = G(4); r.R13 = G(5); r.R14 = G(6); r.R15 = G(7);
        r.Rdi = G(8); r.Rsi = G(9); r.Rbp = G(10); r.Rbx = G(11); r.Rdx = G(12); r.Rax = G(13); r.Rcx = G(14);
        r.Rsp = G(15); r.Rip = G(16);
        const ulong userFlags = 0x40DD5 | 0x10000;   // CF PF AF ZF SF TF DF OF AC | RF
        r.Eflags = (r.Eflags & ~userFlags) | (G(17) & userFlags);
        r.OrigRax = ulong.MaxValue;
        ulong fp = BinaryPrimitives.ReadUInt64LittleEndian(mc[184..]);
        ulong mask = BinaryPrimitives.ReadUInt64LittleEndian(ucontext[SigMaskOffset..]);
        var st = new AltStack(BinaryPrimitives.ReadUInt64LittleEndian(ucontext[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(ucontext[24..]), BinaryPrimitives.ReadUInt64LittleEndian(ucontext[32..]));
        return (mask, st, fp);
    }

    private static void W(Span<byte> s, int o, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(s[o..], v);
}
