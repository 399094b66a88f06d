using System.Text;

namespace RunscNet.StateFile;

/// <summary>
/// The process's standard streams as plain byte streams on fds 0, 1 and 2, for every process of
/// runsc-net (the CLI, boot, gofer). Why not System.Console: on Unix, the first Console.Out, a
/// console stream's write, Console.WindowWidth, ReadKey or CancelKeyPress initialise the
/// "terminal" when stdin or stdout is a tty, and that writes terminfo's keypad_xmit
/// (<c>\e[?1h\e=</c>) to the caller's terminal and changes its modes. A runtime must never write
/// to the caller's terminal itself: what reaches it is the container's output and our own
/// messages only. These writers go straight to write(2), UTF-8, no BOM, flushed at each line.
/// </summary>
public static class RawStdio
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static TextWriter? s_out, s_error;

    /// <summary>A text writer on fd 1 (autoflush).</summary>
    public static TextWriter Out => s_out ??= Writer(1);

    /// <summary>A text writer on fd 2 (autoflush).</summary>
    public static TextWriter Error => s_error ??= Writer(2);

    /// <summary>A new stream on fd <paramref name="fd"/> (0, 1 or 2) that does not close the fd when disposed.</summary>
    /// Not a FileStream: on a regular file that one writes with pwrite at a position of its own and
    /// leaves the shared file offset where it was, so in <c>(echo a; runsc-net state x; echo b) &gt; f</c>
    /// the next writer would overwrite our output.
    public static Stream Open(int fd) => new StdioStream(fd, canRead: fd == 0);

    private static TextWriter Writer(int fd) =>
        TextWriter.Synchronized(new StreamWriter(Open(fd), s_utf8, 4096) { AutoFlush = true, NewLine = "\n" });

    /// <summary>
    /// Makes System.Console believe stdin, stdout and stderr are redirected (it remembers the
    /// first answer for the life of the process), so that a library that still asks Console for
    /// something (CommandLineParser reads Console.WindowWidth unless stdout is redirected) never
    /// initialises the terminal. Swaps /dev/null in for the three fds while asking and puts the
    /// originals back (same open file descriptions: nothing changes for the terminal). Call first
    /// thing in Main, while the process has one thread.
    /// </summary>
    public static void KeepConsoleOffTerminal()
    {
        using var devNull = new FileDescriptor(Interop.FileSystem.Open("/dev/null", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0));
        if (devNull.IsInvalid) return;
        Span<int> saved = stackalloc int[3];
        for (int fd = 0; fd < 3; fd++)
        {
            saved[fd] = Interop.FileSystem.FcntlDupCloexec(fd);
            if (saved[fd] >= 0) Interop.FileSystem.Dup2(devNull.Number, fd);
        }
        try
        {
            // /dev/null is not a tty: each answer is "redirected", and stays so.
            _ = Console.IsInputRedirected;
            _ = Console.IsOutputRedirected;
            _ = Console.IsErrorRedirected;
        }
        finally
        {
            for (int fd = 0; fd < 3; fd++)
            {
                if (saved[fd] < 0) continue;
                Interop.FileSystem.Dup2(saved[fd], fd);
                FileDescriptor.Close(saved[fd]); // a raw dup: restored onto fd first, then closed
            }
        }
    }
}
