using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// An open file description (open(2)): the object fds point at, shared by dup and fork. It holds
/// the offset and status flags; concrete kinds (gofer-backed regular files, pipes, tmpfs, /dev
/// files, sockets, host-fd stdio) override what they support. Defaults give Linux's errno for a
/// file that does not support the operation.
/// </summary>
public abstract class FileDescription
{
    /// <summary>Access mode and status flags (O_RDONLY/O_WRONLY/O_RDWR, O_APPEND, O_NONBLOCK, ...).</summary>
    public int StatusFlags { get; set; }

    /// <summary>
    /// A host file descriptor holding the same file, when there is one (gofer-donated regular
    /// files): the platform maps it into the stub for file-backed mmap. -1 when there is none.
    /// </summary>
    public virtual int HostFd => -1;

    /// <summary>Reads at the file offset, advancing it (read(2)). Returns bytes read or -errno.</summary>
    public virtual long Read(Task task, Span<byte> destination) => -Errno.EINVAL;

    /// <summary>Writes at the file offset (or the end with O_APPEND), advancing it (write(2)).</summary>
    public virtual long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EINVAL;

    /// <summary>Reads at <paramref name="offset"/> without moving the file offset (pread(2)).</summary>
    public virtual long PRead(Task task, Span<byte> destination, long offset) => -Errno.ESPIPE;

    /// <summary>Writes at <paramref name="offset"/> without moving the file offset (pwrite(2)).</summary>
    public virtual long PWrite(Task task, ReadOnlySpan<byte> source, long offset) => -Errno.ESPIPE;

    /// <summary>Called once when the last fd referring to this description is closed.</summary>
    public virtual void Release()
    {
    }
}
