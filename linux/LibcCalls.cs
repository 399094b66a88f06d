using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RunscNet.LinuxInterop;

/// <summary>
/// The one declaration of each libc call that more than one place needs and that Tmds.LibC
/// (<c>Tmds.Linux.LibC</c>) lacks, declares without errno capture (ioctl), or takes a path as
/// <c>byte*</c> where every caller has a string. Everything else Tmds.LibC covers is called there;
/// a call only one place makes is declared next to its user. All of these capture errno
/// (<see cref="Marshal.GetLastPInvokeError"/>) except the two raw system-call entries, which
/// must not touch the GC or thread state.
/// </summary>
public static unsafe partial class LibcCalls
{
    /// <summary>syscall(2) with six arguments; -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long a0, long a1, long a2, long a3, long a4, long a5);

    /// <summary>
    /// syscall(2) without a GC transition and without errno capture: for non-blocking calls on hot
    /// paths and for the straight-line code of a raw clone child before execve (no allocation, no
    /// locks, no GC polls). Read errno, if needed, through <see cref="ErrnoLocation"/>.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "syscall")]
    [SuppressGCTransition]
    public static partial long SyscallNoGc(long number, long a0, long a1, long a2, long a3, long a4, long a5);

    /// <summary>This thread's errno, for callers of <see cref="SyscallNoGc"/>.</summary>
    [LibraryImport("libc", EntryPoint = "__errno_location")]
    [SuppressGCTransition]
    public static partial int* ErrnoLocation();

    /// <summary>prctl(2).</summary>
    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    /// <summary>waitpid(2); <paramref name="status"/> may be null.</summary>
    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    /// <summary>ioctl(2) with a pointer argument (Tmds.LibC's does not capture errno).</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, void* argument);

    /// <summary>open(2).</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    /// <summary>openat(2).</summary>
    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(int dirFd, string path, int flags, uint mode);

    /// <summary>chdir(2).</summary>
    [LibraryImport("libc", EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chdir(string path);

    /// <summary>mount(2); <paramref name="data"/> is the file system's option string, or null.</summary>
    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fileSystemType, ulong flags, string? data);

    /// <summary>memfd_create(2).</summary>
    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    /// <summary>stat(2) into the kernel's 144-byte x86-64 <c>struct stat</c> (the caller's layout).</summary>
    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Stat(string path, void* buffer);

    /// <summary>fstat(2) into the kernel's 144-byte x86-64 <c>struct stat</c> (the caller's layout).</summary>
    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    public static partial int Fstat(int fd, void* buffer);

    /// <summary>getrlimit(2): <paramref name="limits"/> is { soft, hard }.</summary>
    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRlimit(int resource, ulong* limits);

    /// <summary>getrandom(2).</summary>
    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    public static partial nint GetRandom(byte* buffer, nuint count, uint flags);

    /// <summary>sysinfo(2) into the caller's <c>struct sysinfo</c> (112 bytes on x86-64).</summary>
    [LibraryImport("libc", EntryPoint = "sysinfo", SetLastError = true)]
    public static partial int SysInfo(void* info);
}
