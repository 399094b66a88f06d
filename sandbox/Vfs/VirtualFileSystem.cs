using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// The Sentry's VFS: the mount table built from the OCI spec, path walk (symlinks followed here,
/// never by the gofer), and opening files for system calls and for the loader.
/// </summary>
public sealed partial class VirtualFileSystem
{
    /// <summary>
    /// Opens <paramref name="path"/> (relative to the task's cwd) for execve: follows symlinks,
    /// requires a regular file with execute permission for the task (EACCES), read access, and
    /// no write-open by anyone (ETXTBSY is not required). Returns 0 or -errno (ENOENT, ENOTDIR,
    /// EACCES, ELOOP, ENAMETOOLONG...). <paramref name="resolvedPath"/> is the absolute path.
    /// </summary>
    public int OpenExecutable(Task task, string path, out FileDescription? file, out string resolvedPath)
    {
        file = null;
        resolvedPath = path;
        return -Errno.ENOSYS;
    }
}
