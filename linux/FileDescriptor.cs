using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RunscNet.LinuxInterop;

/// <summary>
/// A host file descriptor this process owns: closed exactly once, by <see cref="SafeHandle.Dispose()"/>
/// (or, if forgotten, by the finalizer), never by hand. <see cref="Release"/> hands the number
/// on to a new owner (another process, a table that keeps raw numbers) without closing it.
/// </summary>
public sealed class FileDescriptor : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/> (a negative number makes an invalid, empty owner).</summary>
    public FileDescriptor(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The descriptor's number (-1 once released or closed).</summary>
    public int Number => IsClosed ? -1 : (int)handle.ToInt64();

    /// <summary>Gives up ownership: the caller now closes the returned number.</summary>
    public int Release()
    {
        int fd = Number;
        SetHandleAsInvalid();
        return fd;
    }

    /// <summary>Closes a raw descriptor nobody else owns. close(2) is not retried on EINTR: on Linux the fd is gone either way.</summary>
    public static int Close(int fd) => LibC.close(fd);

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LibC.close((int)handle.ToInt64()) == 0;

    /// <summary>Both ends of socketpair(2) of <paramref name="type"/> (SOCK_CLOEXEC added), or throws with errno.</summary>
    public static unsafe (FileDescriptor First, FileDescriptor Second) SocketPair(int domain, int type)
    {
        int* fds = stackalloc int[2];
        if (LibC.socketpair(domain, type | LibC.SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw new IOException($"socketpair: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        return (new FileDescriptor(fds[0]), new FileDescriptor(fds[1]));
    }
}
