using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.StateFile.Interop;

/// <summary>libc file-system calls the state files need (open, flock, rename).</summary>
internal static partial class FileSystem
{

    public const int LOCK_SH = 1;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;
    public const int LOCK_UN = 8;


    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, int mode);

    public static int Open(string path, int flags, int mode) => LibcCalls.Open(path, flags, mode);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldFd, int newFd);

    private static int Fcntl(int fd, int cmd, int arg) => LibC.fcntl(fd, cmd, arg);

    /// <summary>fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of <paramref name="fd"/> at 3 or above.</summary>
    public static int FcntlDupCloexec(int fd) => Fcntl(fd, 1030, 3);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    public static unsafe nint Write(int fd, byte* buffer, nint count) => (nint)(long)LibC.write(fd, buffer, (size_t)(ulong)count);

    public static unsafe nint Read(int fd, byte* buffer, nint count) => (nint)(long)LibC.read(fd, buffer, (size_t)(ulong)count);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rename(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    /// <summary>The (device, inode) of an open fd, to detect a lock file replaced under us.</summary>
    public static unsafe int Fstat(int fd, LinuxStat* buffer) => LibcCalls.Fstat(fd, buffer);

    public static unsafe int StatPath(string path, LinuxStat* buffer) => LibcCalls.Stat(path, buffer);


    /// <summary>Writes the whole buffer, retrying on short writes and EINTR.</summary>
    public static void WriteAll(int fd, ReadOnlySpan<byte> data, string path)
    {
        int errno = TryWriteAll(fd, data);
        if (errno != 0) throw new StateFileException($"writing {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>Writes the whole buffer with write(2), retrying on short writes and EINTR; 0 or the errno that stopped it.</summary>
    public static unsafe int TryWriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            nint done = 0;
            while (done < data.Length)
            {
                nint n = Write(fd, p + done, data.Length - done);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    return errno;
                }
                done += n;
            }
        }
        return 0;
    }
}
