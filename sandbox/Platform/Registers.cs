using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Platform;

/// <summary>
/// The general-purpose registers of an x86-64 thread in the kernel's <c>user_regs_struct</c>
/// layout (PTRACE_GETREGS/SETREGS).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Registers
{
    public ulong R15, R14, R13, R12, Rbp, Rbx, R11, R10, R9, R8, Rax, Rcx, Rdx, Rsi, Rdi, OrigRax,
        Rip, Cs, Eflags, Rsp, Ss, FsBase, GsBase, Ds, Es, Fs, Gs;
}

/// <summary>
/// The legacy FPU/SSE state (fxsave layout, 512 bytes: PTRACE_GETFPREGS), which the Sentry saves
/// in signal frames. AVX upper halves are not part of it.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
internal unsafe struct FpuState
{
    /// <summary>Size of the fxsave area.</summary>
    public const int Size = 512;

    /// <summary>The raw fxsave bytes.</summary>
    public fixed byte Bytes[Size];

    /// <summary>The state a new process starts with (x87 control word 0x37f, MXCSR 0x1f80).</summary>
    public static FpuState Initial()
    {
        var s = new FpuState();
        s.Bytes[0] = 0x7f; s.Bytes[1] = 0x03;          // fcw
        s.Bytes[24] = 0x80; s.Bytes[25] = 0x1f;        // mxcsr
        s.Bytes[28] = 0xff; s.Bytes[29] = 0xff;        // mxcsr_mask
        return s;
    }
}
