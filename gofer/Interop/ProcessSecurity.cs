using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Gofer.Interop;

/// <summary>struct __user_cap_header_struct.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CapabilityHeader
{
    public uint Version;
    public int Pid;
}

/// <summary>struct __user_cap_data_struct (two of them for 64 capability bits).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CapabilityData
{
    public uint Effective;
    public uint Permitted;
    public uint Inheritable;
}

/// <summary>Privilege calls of libc: prctl, capset, seccomp (via syscall).</summary>
internal static unsafe partial class ProcessSecurity
{
    public const int PR_SET_KEEPCAPS = 8, PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_CLEAR_ALL = 4;
    public const uint LinuxCapabilityVersion3 = 0x20080522;
    public const uint SECCOMP_SET_MODE_FILTER = 1, SECCOMP_FILTER_FLAG_TSYNC = 1;
    private const long SYS_seccomp = 317; // x86_64

    public static int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5) => LibcCalls.Prctl(option, arg2, arg3, arg4, arg5);

    /// <summary>
    /// setresuid(3) of glibc, which applies the change to every thread of the process (it
    /// signals each thread to make the system call itself).
    /// </summary>
    [LibraryImport("libc", EntryPoint = "setresuid", SetLastError = true)]
    public static partial int SetResUid(uint realUid, uint effectiveUid, uint savedUid);

    public static uint GetUid() => LibC.getuid();

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    public static partial int CapSet(CapabilityHeader* header, CapabilityData* data);

    /// <summary>seccomp(SECCOMP_SET_MODE_FILTER, flags, program): 0, a thread id (TSYNC failure), or -1.</summary>
    public static long SeccompSetFilter(uint flags, SockFprog* program) =>
        LibcCalls.Syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, (long)program, 0, 0, 0);
}
