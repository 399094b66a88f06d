using RunscNet.Sentry.Platform;

namespace RunscNet.Tests.Sentry.Systrap;

/// <summary>
/// A few bytes of application code placed in a fresh address space: one read-write-execute page
/// at <see cref="CodeAddress"/> for the code, a data page, and a stack page, mapped through the
/// context's host calls.
/// </summary>
internal static class StubProgram
{
    public const ulong CodeAddress = 0x10000000, DataAddress = 0x10001000, StackAddress = 0x10010000;

    /// <summary>Maps the pages, copies <paramref name="code"/> in and points the registers at it.</summary>
    public static void Load(IPlatformContext ctx, byte[] code)
    {
        const long SYS_mmap = 9;
        const ulong MAP_PRIVATE_ANON_FIXED = 0x02 | 0x20 | 0x10;
        long r = ctx.HostSyscall(SYS_mmap, CodeAddress, 0x2000, 7, MAP_PRIVATE_ANON_FIXED, ulong.MaxValue, 0);
        if (r != (long)CodeAddress) throw new InvalidOperationException($"mmap code: {r}");
        r = ctx.HostSyscall(SYS_mmap, StackAddress, 0x1000, 3, MAP_PRIVATE_ANON_FIXED, ulong.MaxValue, 0);
        if (r != (long)StackAddress) throw new InvalidOperationException($"mmap stack: {r}");
        if (ctx.Memory.Write(CodeAddress, code) != code.Length) throw new InvalidOperationException("code write");
        ref var regs = ref ctx.Regs;
        regs.Rip = CodeAddress;
        regs.Rsp = StackAddress + 0x800;
    }

    /// <summary><c>syscall; jmp -4</c>: every run stops on a system call whose number is the last result.</summary>
    public static readonly byte[] SyscallLoop = { 0x0f, 0x05, 0xeb, 0xfc };

    /// <summary><c>jmp .</c></summary>
    public static readonly byte[] Spin = { 0xeb, 0xfe };

    /// <summary><c>ud2</c> (SIGILL).</summary>
    public static readonly byte[] IllegalInstruction = { 0x0f, 0x0b };

    /// <summary><c>mov rax, [8]; jmp .</c> (SIGSEGV at address 8).</summary>
    public static readonly byte[] NullLoad = { 0x48, 0x8b, 0x04, 0x25, 0x08, 0x00, 0x00, 0x00, 0xeb, 0xfe };

    /// <summary><c>mov rax, fs:[0]; syscall</c>: the system call number is the word at the FS base.</summary>
    public static readonly byte[] LoadFsWordThenSyscall = { 0x64, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xfe };

    /// <summary><c>movq rax, xmm0; syscall</c>: the system call number is xmm0's low quadword.</summary>
    public static readonly byte[] Xmm0ThenSyscall = { 0x66, 0x48, 0x0f, 0x7e, 0xc0, 0x0f, 0x05, 0xeb, 0xfe };

    /// <summary><c>mov rax, [DataAddress]; syscall; jmp .</c>: the system call number is the data word.</summary>
    public static readonly byte[] LoadDataThenSyscall = { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x10, 0x0f, 0x05, 0xeb, 0xfe };
}
