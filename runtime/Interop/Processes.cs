using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Runtime.Interop;

/// <summary>libc process calls of the runtime (the parent side: wait, kill, fds).</summary>
internal static class Processes
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

    private static long Syscall(long number, long a1, long a2) => LibcCalls.Syscall(number, a1, a2, 0, 0, 0, 0);

    /// <summary>poll(2) for POLLIN on one fd: &gt;0 readable, 0 time-out, -1 error.</summary>
    public static unsafe int PollReadable(int fd, int timeoutMs)
    {
        long pollfd = (uint)fd | (1L << 32); // struct pollfd { int fd; short events = POLLIN; short revents; }
        return Poll(&pollfd, 1, timeoutMs);
    }

    private static unsafe int Poll(long* fds, nuint count, int timeoutMs) => LibC.poll((pollfd*)fds, (ulong_t)(ulong)count, timeoutMs);

    public static unsafe int WaitPid(int pid, out int status, int options)
    {
        int s = 0;
        int r = LibcCalls.WaitPid(pid, &s, options);
        status = s;
        return r;
    }

    public static int Kill(int pid, int signal) => LibC.kill(pid, signal);

    public static int Fcntl(int fd, int command, int argument) => LibC.fcntl(fd, command, argument);

    /// <summary>True if <paramref name="fd"/> is an open fd of this process.</summary>
    public static bool IsOpen(int fd) => Fcntl(fd, 1 /* F_GETFD */, 0) >= 0;

    public static int Open(string path, int flags, int mode) => LibcCalls.Open(path, flags, mode);

    public static int MemfdCreate(string name, uint flags) => LibcCalls.MemfdCreate(name, flags);


    public static unsafe int SetHostname(byte* name, nuint length) => LibC.sethostname(name, (size_t)(ulong)length);

    public static int SetNs(int fd, int type) => LibC.setns(fd, type);

    public static unsafe int Pipe2(int* fds, int flags) => LibC.pipe2(fds, flags);

    public static unsafe nint Write(int fd, byte* buffer, nint count) => (nint)(long)LibC.write(fd, buffer, (size_t)(ulong)count);

    public static unsafe nint PWrite(int fd, byte* buffer, nint count, long offset) => (nint)(long)LibC.pwrite(fd, buffer, (size_t)(ulong)count, offset);

    public static uint GetUid() => LibC.getuid();

    /// <summary>The errno text of the last failed call.</summary>
    public static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
