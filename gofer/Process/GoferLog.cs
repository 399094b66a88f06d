using System.Globalization;
using System.Text;
using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// The gofer's debug log: an fd opened before pivot_root (the file is outside the container's
/// tree) and written with plain write(2), which the seccomp filter allows.
/// </summary>
internal sealed class GoferLog : IDisposable
{
    private readonly FileDescriptor _fd;
    private readonly string _prefix;

    private GoferLog(int fd, string prefix)
    {
        _fd = new FileDescriptor(fd);
        _prefix = prefix;
    }

    /// <summary>Opens <paramref name="path"/> for appending; a log that writes nothing when it is null, empty or cannot be opened.</summary>
    public static GoferLog Open(string? path, string containerId)
    {
        int fd = string.IsNullOrEmpty(path) ? -1 : Files.OpenAt(PathConsts.AT_FDCWD, path,
            OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_APPEND | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY, 0x1A0);
        return new GoferLog(fd, $"gofer[{Environment.ProcessId}] {containerId}: ");
    }

    /// <summary>Appends one line (with a UTC timestamp).</summary>
    public unsafe void Write(string message)
    {
        if (_fd.IsInvalid)
        {
            return;
        }
        byte[] line = Encoding.UTF8.GetBytes(
            DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ ", CultureInfo.InvariantCulture) + _prefix + message + "\n");
        fixed (byte* p = line)
        {
            Files.Write(_fd.Number, p, (nuint)line.Length);
        }
    }

    public void Dispose()
    {
        _fd.Dispose();
    }
}
