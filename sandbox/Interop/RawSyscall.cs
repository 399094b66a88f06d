using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>
/// The libc <c>syscall(2)</c> wrapper with six fixed arguments. The no-GC-transition variant is
/// the only call allowed in a freshly cloned child (no allocation, no locks, no GC polls).
/// </summary>
internal static class RawSyscall
{
    public const long SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_mmap = 9, SYS_mprotect = 10,
        SYS_munmap = 11, SYS_mremap = 25, SYS_msync = 26, SYS_madvise = 28, SYS_getpid = 39,
        SYS_clone = 56, SYS_exit = 60, SYS_kill = 62, SYS_tgkill = 234, SYS_exit_group = 231,
        SYS_ptrace = 101, SYS_execveat = 322, SYS_close_range = 436, SYS_memfd_create = 319,
        SYS_gettid = 186;

    /// <summary>Calls syscall(2); returns the result or -1 with errno set.</summary>
    public static long Call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) =>
        LibcCalls.Syscall(nr, a0, a1, a2, a3, a4, a5);

    /// <summary>
    /// syscall(2) without a GC transition and without errno capture: only for non-blocking calls and
    /// for the straight-line code of a cloned child before execve.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long CallNoGc(long nr, long a0, long a1, long a2, long a3, long a4, long a5) =>
        LibcCalls.SyscallNoGc(nr, a0, a1, a2, a3, a4, a5);

    /// <summary>Runs a syscall and returns the result or -errno.</summary>
    public static long Checked(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        long r = Call(nr, a0, a1, a2, a3, a4, a5);
        return r == -1 ? -Marshal.GetLastPInvokeError() : r;
    }
}
