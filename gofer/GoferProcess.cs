using System.Runtime.InteropServices;

namespace RunscNet.Gofer;

/// <summary>The body of `runsc-net gofer`: the container's file server.</summary>
public static partial class GoferProcess
{
    /// <summary>
    /// Serves the container's files until the Sentry closes its end; returns the exit code.
    /// For now it serves no requests: it holds the socket open until the Sentry goes away.
    /// </summary>
    public static unsafe int Run(GoferOptions options)
    {
        byte* buffer = stackalloc byte[4096];
        while (true)
        {
            nint n = Read(options.SocketFd, buffer, 4096);
            if (n == 0) return 0;
            if (n < 0 && Marshal.GetLastPInvokeError() != 4 /* EINTR */) return 1;
        }
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nint count);
}
