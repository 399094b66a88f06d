using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Pipe;

namespace RunscNet.Sentry.Syscalls;

/// <summary>pipe(2) and pipe2(2) (each handler documents the man-page semantics it implements).</summary>
internal static partial class PipeSyscalls
{
    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(22, "pipe", Pipe);
        t.Partial(293, "pipe2", Pipe2, "O_DIRECT (packet mode) is accepted but pipes stay in byte-stream mode.");
    }

    /// <summary>pipe(2): as pipe2 with no flags.</summary>
    private static long Pipe(Task t, in SyscallArguments a) => MakePipe(t, a.A0, 0);

    /// <summary>
    /// pipe2(2): creates a pipe (64 KiB) and stores the read and write fds at pipefd[0], pipefd[1];
    /// flags O_CLOEXEC, O_NONBLOCK, O_DIRECT (others EINVAL). If the fds cannot be copied out,
    /// they are closed again (EFAULT).
    /// </summary>
    private static long Pipe2(Task t, in SyscallArguments a) => MakePipe(t, a.A0, (int)a.A1);

    private static long MakePipe(Task t, ulong address, int flags)
    {
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECT)) != 0) return -Errno.EINVAL;
        var pipe = new Vfs.Pipe.Pipe();
        int status = flags & OpenFlags.O_NONBLOCK;
        var r = new PipeFile(pipe, OpenFlags.O_RDONLY | status);
        var w = new PipeFile(pipe, OpenFlags.O_WRONLY | status);
        bool cloexec = (flags & OpenFlags.O_CLOEXEC) != 0;
        int rfd = t.Fds.InstallNew(r, cloexec);
        if (rfd < 0) { w.DecRef(); return rfd; }
        int wfd = t.Fds.InstallNew(w, cloexec);
        if (wfd < 0) { t.Fds.Close(rfd); return wfd; }
        Span<int> fds = stackalloc int[2] { rfd, wfd };
        int err = t.Memory.CopyOut(address, System.Runtime.InteropServices.MemoryMarshal.AsBytes(fds));
        if (err != 0)
        {
            t.Fds.Close(rfd);
            t.Fds.Close(wfd);
            return err;
        }
        return 0;
    }
}
