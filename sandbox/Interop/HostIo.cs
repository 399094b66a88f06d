using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.Sentry.Interop;

/// <summary>Plain fd I/O and process calls of the Sentry itself (write, close, kill, getrandom...).</summary>
internal static unsafe partial class HostIo
{
    public static nint Write(int fd, byte* buf, nuint count) => (nint)(long)LibC.write(fd, buf, (size_t)(ulong)count);

    public static nint Read(int fd, byte* buf, nuint count) => (nint)(long)LibC.read(fd, buf, (size_t)(ulong)count);

    public static nint PRead(int fd, byte* buf, nuint count, long offset) => (nint)(long)LibC.pread(fd, buf, (size_t)(ulong)count, offset);

    public static int Kill(int pid, int sig) => LibC.kill(pid, sig);

    public static nint GetRandom(byte* buf, nuint count, uint flags) => LibcCalls.GetRandom(buf, count, flags);

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "getsid")]
    public static partial int GetSid(int pid);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetTid();

    public static int Prctl(int option, ulong a2, ulong a3, ulong a4, ulong a5) => LibcCalls.Prctl(option, a2, a3, a4, a5);

    [LibraryImport("libc", EntryPoint = "raise", SetLastError = true)]
    public static partial int Raise(int sig);

    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    public static partial int PthreadSigmask(int how, ulong* set, ulong* old);

    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    public static partial nint Signal(int sig, nint handler);

    [LibraryImport("libc", EntryPoint = "chroot", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chroot(string path);

    public static int Chdir(string path) => LibcCalls.Chdir(path);

    [LibraryImport("libc", EntryPoint = "getauxval")]
    public static partial ulong GetAuxVal(ulong type);

    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int code);
}
