using System.Runtime.InteropServices;

namespace RunscNet.StateFile;

/// <summary>
/// A stream over an inherited fd that reads and writes with read(2)/write(2) at the fd's own
/// (shared) file offset, as a shell's redirection expects; never seeks and never closes the fd.
/// </summary>
internal sealed class StdioStream(int fd, bool canRead) : Stream
{
    public override bool CanRead => canRead;
    public override bool CanWrite => !canRead;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override unsafe int Read(Span<byte> buffer)
    {
        if (!canRead) throw new NotSupportedException();
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Interop.FileSystem.Read(fd, p, buffer.Length);
                if (n >= 0) return (int)n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new IOException($"read from fd {fd}: errno {errno}");
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (canRead) throw new NotSupportedException();
        int errno = Interop.FileSystem.TryWriteAll(fd, buffer);
        if (errno != 0) throw new IOException($"write to fd {fd}: errno {errno}");
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
