using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel;

/// <summary>Where the execution side's life-cycle events reach the file side (fd table, fs context).</summary>
internal sealed partial class Task
{
    partial void ForkFilesInto(Task child, ulong flags)
    {
        child.Fds = (flags & CLONE_FILES) != 0 ? Fds : Fds.Fork();
        child.Fs = (flags & CLONE_FS) != 0 ? Fs : Fs.Fork();
        Kernel.Vfs.InheritExecutable(this, child);
    }

    partial void OnExecFiles() => Fds.CloseOnExec();

    partial void OnProcessExit() => Fds.CloseAll();

    partial void LookupFile(int fd, ref FileDescription? file) => file = Fds.Get(fd);

    partial void ApplyFileLimit(int limit) => Fds.Limit = limit;
}
