using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Syscalls;
using Task = RunscNet.Sentry.Kernel.Task;

namespace RunscNet.Tests.Sentry.Files;

/// <summary>Application memory for tests: a byte array mapped at <see cref="Base"/>.</summary>
internal sealed class ArrayMemory : IMemoryIO
{
    public const ulong Base = 0x10000;
    public readonly byte[] Bytes = new byte[1 << 20];
    private ulong _next = Base;

    public int Read(ulong address, Span<byte> destination)
    {
        if (address < Base) return 0;
        ulong off = address - Base;
        if (off >= (ulong)Bytes.Length) return 0;
        int n = (int)Math.Min((ulong)destination.Length, (ulong)Bytes.Length - off);
        Bytes.AsSpan((int)off, n).CopyTo(destination);
        return n;
    }

    public int Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (address < Base) return 0;
        ulong off = address - Base;
        if (off >= (ulong)Bytes.Length) return 0;
        int n = (int)Math.Min((ulong)source.Length, (ulong)Bytes.Length - off);
        source[..n].CopyTo(Bytes.AsSpan((int)off, n));
        return n;
    }

    /// <summary>Reserves <paramref name="size"/> bytes and returns their address.</summary>
    public ulong Alloc(int size)
    {
        ulong a = _next;
        _next += (ulong)((size + 15) & ~15);
        return a;
    }

    /// <summary>Places a NUL-terminated string and returns its address.</summary>
    public ulong Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s + "\0");
        ulong a = Alloc(b.Length);
        Write(a, b);
        return a;
    }

    public ulong Put(byte[] data)
    {
        ulong a = Alloc(data.Length);
        Write(a, data);
        return a;
    }

    public byte[] Get(ulong address, int length)
    {
        var b = new byte[length];
        Read(address, b);
        return b;
    }
}

/// <summary>A kernel with a tmpfs root, /dev and /proc mounted, and one root task.</summary>
internal sealed class FilesFixture
{
    public readonly Kernel Kernel = new() { Syscalls = LinuxSyscalls.Table };
    public readonly ArrayMemory Mem = new();
    public readonly Task Task;

    public FilesFixture(Credentials? creds = null, bool mountDefaults = true)
    {
        Task = new Task(Kernel, 1, creds ?? Credentials.Root, Mem);
        if (!mountDefaults) return;
        var vfs = Kernel.Vfs;
        vfs.Mkdir(Task, PathConsts.AT_FDCWD, "/dev", 0x1ed);
        vfs.Mkdir(Task, PathConsts.AT_FDCWD, "/proc", 0x1ed);
        vfs.ResolveAbsolute("/dev", out var dev);
        vfs.MountAt(dev, RunscNet.Sentry.Vfs.Dev.DevFileSystem.Create(), RunscNet.Sentry.Vfs.MountFlags.None, "tmpfs");
        vfs.ResolveAbsolute("/proc", out var proc);
        vfs.MountAt(proc, new RunscNet.Sentry.Vfs.Proc.ProcFileSystem(vfs), RunscNet.Sentry.Vfs.MountFlags.None, "proc");
    }

    /// <summary>Calls system call <paramref name="nr"/> through the table as the fixture's task.</summary>
    public long Call(int nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
        => Call(Task, nr, a0, a1, a2, a3, a4, a5);

    public static long Call(Task t, int nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        var e = LinuxSyscalls.Table.Lookup(nr) ?? throw new InvalidOperationException($"no syscall {nr}");
        return e.Handler!(t, new SyscallArguments(a0, a1, a2, a3, a4, a5));
    }

    public static ulong U(long v) => (ulong)v;

    public const ulong AT_FDCWD = unchecked((ulong)-100);

    /// <summary>open(path, flags, mode) → fd (asserting success).</summary>
    public int Open(string path, int flags, uint mode = 0x1a4)
    {
        long fd = Call(257, AT_FDCWD, Mem.Str(path), (ulong)flags, mode);
        if (fd < 0) throw new InvalidOperationException($"open {path}: {fd}");
        return (int)fd;
    }

    public long Write(int fd, string text)
    {
        var b = Encoding.UTF8.GetBytes(text);
        return Call(1, (ulong)fd, Mem.Put(b), (ulong)b.Length);
    }

    public string Read(int fd, int max = 4096)
    {
        ulong buf = Mem.Alloc(max);
        long n = Call(0, (ulong)fd, buf, (ulong)max);
        if (n < 0) throw new InvalidOperationException($"read: {n}");
        return Encoding.UTF8.GetString(Mem.Get(buf, (int)n));
    }
}
