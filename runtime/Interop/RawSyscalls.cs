using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RunscNet.Runtime.Interop;

/// <summary>
/// The raw <c>syscall(2)</c> entry, used where libc wrappers would be unsafe: in the child of a raw
/// <c>clone</c>, which must run straight-line code without allocating, taking locks or entering the
/// GC (so no GC transition, no errno marshalling). Numbers per architecture in <see cref="SyscallNumbers"/>.
/// </summary>
internal static class RawSyscalls
{
    /// <summary>syscall(number, a1..a6); returns the raw result (-1 with errno on failure).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Syscall6(long number, long a1, long a2, long a3, long a4, long a5, long a6) =>
        LibcCalls.SyscallNoGc(number, a1, a2, a3, a4, a5, a6);

    /// <summary>The errno of the last failed call on this thread (read it in the parent only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int* ErrnoLocation() => LibcCalls.ErrnoLocation();

    /// <summary>Makes sure the P/Invoke stubs used in a clone child are bound before any clone.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void Warm()
    {
        _ = Syscall6(SyscallNumbers.Current.GetPid, 0, 0, 0, 0, 0, 0);
        _ = *ErrnoLocation();
    }
}

/// <summary>System call numbers of the calls a clone child makes, for x86-64 and arm64.</summary>
internal sealed class SyscallNumbers
{
    public long Clone, Execve, ExitGroup, Dup3, SetSid, SetNs, GetPid, Prctl, Read, SetResUid, SetResGid, GetGroups, SetGroups, CloseRange = 436;

    /// <summary>The numbers of the architecture we run on.</summary>
    public static readonly SyscallNumbers Current = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => new SyscallNumbers { Clone = 56, Execve = 59, ExitGroup = 231, Dup3 = 292, SetSid = 112, SetNs = 308, GetPid = 39, Prctl = 157,
            Read = 0, SetResUid = 117, SetResGid = 119, GetGroups = 115, SetGroups = 116 },
        Architecture.Arm64 => new SyscallNumbers { Clone = 220, Execve = 221, ExitGroup = 94, Dup3 = 24, SetSid = 157, SetNs = 268, GetPid = 172, Prctl = 167,
            Read = 63, SetResUid = 147, SetResGid = 149, GetGroups = 158, SetGroups = 159 },
        _ => throw new PlatformNotSupportedException("runsc-net runs on x86-64 and arm64 Linux"),
    };
}
