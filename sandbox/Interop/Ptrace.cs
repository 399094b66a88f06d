using System.Runtime.InteropServices;

namespace RunscNet.Sentry.Interop;

/// <summary>ptrace(2) and waitpid(2) with the request numbers and status decoding the platform uses.</summary>
internal static unsafe partial class Ptrace
{
    public const int TRACEME = 0, PEEKUSER = 3, POKEUSER = 6, CONT = 7, GETREGS = 12, SETREGS = 13,
        GETFPREGS = 14, SETFPREGS = 15, ATTACH = 16, DETACH = 17, SYSEMU = 31,
        SETOPTIONS = 0x4200, GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202, GETREGSET = 0x4204,
        SETREGSET = 0x4205, SEIZE = 0x4206, INTERRUPT = 0x4207;

    public const int O_TRACESYSGOOD = 1, O_TRACEEXEC = 0x10, O_EXITKILL = 0x100000;

    /// <summary>Stop status of a PTRACE_SEIZEd tracee's group-stop (status &gt;&gt; 16).</summary>
    public const int EVENT_STOP = 128;

    /// <summary>waitpid option: wait for every kind of child (clone children included).</summary>
    public const int __WALL = 0x40000000;
    public const int WNOHANG = 1;

    [LibraryImport("libc", EntryPoint = "ptrace", SetLastError = true)]
    public static partial long Request(long request, int pid, nint addr, nint data);

    public static int WaitPid(int pid, int* status, int options) => LibcCalls.WaitPid(pid, status, options);

    /// <summary>True if the wait status is a stop.</summary>
    public static bool IsStopped(int status) => (status & 0xff) == 0x7f;
    /// <summary>True if the wait status is a normal exit.</summary>
    public static bool IsExited(int status) => (status & 0x7f) == 0;
    /// <summary>True if the wait status is a death by signal.</summary>
    public static bool IsSignaled(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;
    /// <summary>The stop signal of a stop status.</summary>
    public static int StopSignal(int status) => (status >> 8) & 0xff;
    /// <summary>The ptrace event of a stop status (0 if none).</summary>
    public static int StopEvent(int status) => (status >> 16) & 0xff;
}
