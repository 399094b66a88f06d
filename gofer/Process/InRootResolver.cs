using System.Text;
using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// Resolves a container path inside a rootfs held as a directory fd, the way the container would
/// see it: symlinks are followed but resolved inside the rootfs (an absolute target restarts at
/// the rootfs, ".." stops at it), so a planted symlink can never lead a mount outside. Missing
/// components can be created (directories, and the last one as a directory or empty file), as
/// runtimes do for mount points.
/// </summary>
internal static class InRootResolver
{
    private const int MaxSymlinks = 40;

    /// <summary>
    /// An O_PATH fd of <paramref name="path"/> inside <paramref name="rootFd"/>, or -errno.
    /// <paramref name="create"/>: null (create nothing), true (create the last component as a
    /// directory), false (as an empty regular file).
    /// </summary>
    public static unsafe int Open(int rootFd, string path, bool? create)
    {
        var remaining = new LinkedList<string>(Split(path));
        var stack = new Stack<FileDescriptor>();
        int links = 0;
        var current = new FileDescriptor(Files.OpenAt(rootFd, ".", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0));
        if (current.IsInvalid)
        {
            return Files.Result(current.Number);
        }
        try
        {
            while (remaining.Count > 0)
            {
                string name = remaining.First!.Value;
                remaining.RemoveFirst();
                if (name == ".")
                {
                    continue;
                }
                if (name == "..")
                {
                    if (stack.Count > 0)
                    {
                        current.Dispose();
                        current = stack.Pop();
                    }
                    continue;
                }
                int childFd = Files.OpenAt(current.Number, name, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
                if (childFd < 0 && Files.Result(childFd) == -Errno.ENOENT && create is not null)
                {
                    bool last = remaining.Count == 0;
                    int r = last && create == false
                        ? CreateFile(current.Number, name)
                        : Files.Result(Files.MkdirAt(current.Number, name, 0x1ED));
                    if (r < 0 && r != -Errno.EEXIST)
                    {
                        return r;
                    }
                    childFd = Files.OpenAt(current.Number, name, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0);
                }
                if (childFd < 0)
                {
                    return Files.Result(childFd);
                }
                string target;
                using (var child = new FileDescriptor(childFd))
                {
                    Statx sx;
                    if (Files.StatxAt(child.Number, "", PathConsts.AT_EMPTY_PATH | PathConsts.AT_SYMLINK_NOFOLLOW, Files.STATX_BASIC_STATS, &sx) < 0)
                    {
                        return Files.Result(-1); // errno is read before child is closed
                    }
                    if ((sx.Mode & LinuxMode.S_IFMT) != LinuxMode.S_IFLNK)
                    {
                        stack.Push(current);
                        current = new FileDescriptor(child.Release());
                        continue;
                    }
                    if (++links > MaxSymlinks)
                    {
                        return -Errno.ELOOP;
                    }
                    target = ReadLink(child.Number);
                }
                string[] parts = Split(target);
                for (int i = parts.Length - 1; i >= 0; i--)
                {
                    remaining.AddFirst(parts[i]);
                }
                if (target.StartsWith('/'))
                {
                    while (stack.Count > 0)
                    {
                        current.Dispose();
                        current = stack.Pop();
                    }
                }
            }
            return current.Release();
        }
        finally
        {
            current.Dispose();
            while (stack.Count > 0)
            {
                stack.Pop().Dispose();
            }
        }
    }

    private static int CreateFile(int dirFd, string name)
    {
        using var fd = new FileDescriptor(Files.OpenAt(dirFd, name, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC, 0x1A4));
        if (fd.IsInvalid)
        {
            return Files.Result(fd.Number);
        }
        return 0;
    }

    private static unsafe string ReadLink(int fd)
    {
        byte* buffer = stackalloc byte[4096];
        long n = Files.Result(Files.ReadlinkAt(fd, "", buffer, 4096));
        return n <= 0 ? "" : Encoding.UTF8.GetString(buffer, (int)n);
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
