using System.Runtime.InteropServices;

namespace RunscNet.Runtime.Interop;

/// <summary>libc pseudo-terminal calls (posix_openpt and friends, window size).</summary>
internal static unsafe partial class Terminals
{
    public const ulong TIOCSWINSZ = 0x5414;

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    public static partial int PosixOpenpt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    public static partial int Grantpt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    public static partial int Unlockpt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    public static partial int PtsnameR(int fd, byte* buffer, nuint length);

    public static int Ioctl(int fd, ulong request, void* argument) => LibcCalls.Ioctl(fd, request, argument);

    [LibraryImport("libc", EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    /// <summary>struct winsize.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct WindowSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }
}
