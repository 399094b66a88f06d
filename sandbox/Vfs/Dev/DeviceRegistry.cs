using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Dev;

/// <summary>
/// Character devices the Sentry serves itself, by device number (mem(4), random(4), tty(4)):
/// a device node with one of these numbers in any Sentry file system opens the Sentry's device.
/// </summary>
internal static class DeviceRegistry
{
    /// <summary>st_rdev encoding of major/minor (glibc makedev).</summary>
    public static ulong MakeDev(uint major, uint minor)
        => ((ulong)(major & 0xfff) << 8) | (minor & 0xff) | ((ulong)(major & ~0xfffu) << 32) | ((ulong)(minor & ~0xffu) << 12);

    /// <summary>Major number of an encoded device.</summary>
    public static uint Major(ulong dev) => (uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));

    /// <summary>Minor number of an encoded device.</summary>
    public static uint Minor(ulong dev) => (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL));

    /// <summary>
    /// Opens /dev/tty: returns a new description of the controlling terminal, or null (ENXIO).
    /// Set at boot when the container has a terminal.
    /// </summary>
    public static Func<Task, int, FileDescription?>? ControllingTty { get; set; }

    private static int OpenTerminal(Task task, int number, int flags, out FileDescription? file)
    {
        file = null;
        var node = DevptsFileSystem.Instance.ByNumber(number);
        return node == null ? -Errno.ENXIO : node.Open(task, flags, out file);
    }

    /// <summary>Opens the device <paramref name="rdev"/>; ENXIO/ENODEV for devices the Sentry does not have.</summary>
    public static int Open(Task task, ulong rdev, int flags, out FileDescription? file)
    {
        file = null;
        uint major = Major(rdev), minor = Minor(rdev);
        switch (major, minor)
        {
            case (1, 3): file = new MemoryDeviceFile(MemoryDevice.Null, flags); return 0;
            case (1, 5): file = new MemoryDeviceFile(MemoryDevice.Zero, flags); return 0;
            case (1, 7): file = new MemoryDeviceFile(MemoryDevice.Full, flags); return 0;
            case (1, 8):
            case (1, 9): file = new MemoryDeviceFile(MemoryDevice.Random, flags); return 0;
            case (5, 0):
                file = ControllingTty?.Invoke(task, flags);
                return file != null ? 0 : -Errno.ENXIO;
            case (5, 1):
                // /dev/console: the container's console, terminal 0 of its devpts.
                return OpenTerminal(task, 0, flags, out file);
            case (DevptsFileSystem.PtySlaveMajor, _):
                return OpenTerminal(task, (int)minor, flags, out file);
            default:
                return -Errno.ENXIO;
        }
    }
}

/// <summary>Which memory device a <see cref="MemoryDeviceFile"/> is.</summary>
internal enum MemoryDevice
{
    /// <summary>/dev/null: reads EOF, writes discarded.</summary>
    Null,
    /// <summary>/dev/zero: reads zeros, writes discarded.</summary>
    Zero,
    /// <summary>/dev/full: reads zeros, writes ENOSPC.</summary>
    Full,
    /// <summary>/dev/random and /dev/urandom: reads random bytes, writes accepted.</summary>
    Random,
}

/// <summary>An open /dev/null, /dev/zero, /dev/full, /dev/random or /dev/urandom.</summary>
internal sealed class MemoryDeviceFile : FileDescription
{
    private readonly MemoryDevice _kind;

    /// <summary>Opens device <paramref name="kind"/>.</summary>
    public MemoryDeviceFile(MemoryDevice kind, int flags)
    {
        _kind = kind;
        StatusFlags = flags;
    }

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination) => PRead(task, destination, 0);

    /// <inheritdoc/>
    public override long PRead(Task task, Span<byte> destination, long offset)
    {
        if (!Readable) return -Errno.EBADF;
        switch (_kind)
        {
            case MemoryDevice.Null: return 0;
            case MemoryDevice.Random: Interop.HostRandom.Fill(destination); return destination.Length;
            default: destination.Clear(); return destination.Length;
        }
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => PWrite(task, source, 0);

    /// <inheritdoc/>
    public override long PWrite(Task task, ReadOnlySpan<byte> source, long offset)
    {
        if (!Writable) return -Errno.EBADF;
        return _kind == MemoryDevice.Full ? -Errno.ENOSPC : source.Length;
    }

    /// <inheritdoc/>
    public override long Seek(Task task, long offset, int whence) => 0;
}
