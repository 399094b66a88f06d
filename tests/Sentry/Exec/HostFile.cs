using Microsoft.Win32.SafeHandles;
using RunscNet.Sentry.Kernel;
using Task = RunscNet.Sentry.Kernel.Task;
using RunscNet.Sentry.Vfs;

namespace RunscNet.Tests.Sentry.Exec;

/// <summary>A test-only open file over a host file (read-only), for loader and platform tests without the VFS.</summary>
internal sealed class HostFile : FileDescription
{
    private readonly SafeFileHandle _handle;

    public HostFile(string path) => _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);

    public override long PRead(Task task, Span<byte> destination, long offset) => RandomAccess.Read(_handle, destination, offset);

    /// <summary>Opens files of a host directory as if it were the root: ENOENT, EACCES as execve gives them.</summary>
    public static ExecutableOpener RootedAt(string root) => (Task t, string path, out FileDescription? file, out string resolved) =>
    {
        file = null;
        resolved = path.StartsWith('/') ? path : "/" + path;
        string host = Path.Combine(root, resolved.TrimStart('/'));
        var info = new FileInfo(host);
        if (info.LinkTarget != null) info = (FileInfo?)info.ResolveLinkTarget(true) as FileInfo ?? info;
        if (!info.Exists) return Directory.Exists(host) ? -Errno.EACCES : -Errno.ENOENT;
        if ((info.UnixFileMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            return -Errno.EACCES;
        file = new HostFile(info.FullName);
        return 0;
    };
}
