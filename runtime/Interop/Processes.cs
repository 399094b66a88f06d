using System.Runtime.InteropServices;

namespace RunscNet.Runtime.Interop;

/// <summary>libc process calls of the runtime (the parent side: wait, kill, fds).</summary>
internal static partial class Processes
{
    public const int WNOHANG = 1;
    public const int __WALL = 0x40000000;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const uint MFD_CLOEXEC = 1;

    public const long CLONE_NEWNS = 0x00020000;
    public const long CLONE_NEWCGROUP = 0x02000000;
    public const long CLONE_NEWUTS = 0x04000000;
    public const long CLONE_NEWIPC = 0x08000000;
    public const long CLONE_NEWUSER = 0x10000000;
    public const long CLONE_NEWPID = 0x20000000;
    public const long CLONE_NEWNET = 0x40000000;
    public const long SIGCHLD = 17;

    /// <summary>pidfd_open(2) (raw system call 434): an fd that polls readable once the process has exited; -1 on failure.</summary>
    public static int PidfdOpen(int pid) => (int)Syscall(434, pid, 0);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a1, long a2);

    /// <summary>poll(2) for POLLIN on one fd: &gt;0 readable, 0 time-out, -1 error.</summary>
    public static unsafe int PollReadable(int fd, int timeoutMs)
    {
        long pollfd = (uint)fd | (1L << 32); // struct pollfd { int fd; short events = POLLIN; short revents; }
        return Poll(&pollfd, 1, timeoutMs);
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(long* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, out int status, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    /// <summary>True if <paramref name="fd"/> is an open fd of this process.</summary>
    public static bool IsOpen(int fd) => Fcntl(fd, 1 /* F_GETFD */, 0) >= 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    /// <summary>stat(2) into a struct stat buffer (at least 144 bytes; st_dev and st_ino first).</summary>
    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int Stat(string path, ulong* buffer);

    [LibraryImport("libc", EntryPoint = "sethostname", SetLastError = true)]
    public static unsafe partial int SetHostname(byte* name, nuint length);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int type);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static unsafe partial nint PWrite(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    /// <summary>The errno text of the last failed call.</summary>
    public static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
