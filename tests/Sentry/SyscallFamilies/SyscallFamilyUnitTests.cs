using System.Buffers.Binary;
using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Kernel.Ipc;
using RunscNet.Sentry.Syscalls;
using RunscNet.Sentry.Vfs.Event;
using RunscNet.Tests.Sentry.Files;
using Xunit;

namespace RunscNet.Tests.Sentry.SyscallFamilies;

/// <summary>inotify through the system-call table on a tmpfs root: event records, merging, FIONREAD, rm_watch.</summary>
public class InotifySyscallTests
{
    private const int IN_NONBLOCK = 0x800;
    private const uint IN_MODIFY = 0x2, IN_CLOSE_WRITE = 0x8, IN_OPEN = 0x20, IN_CREATE = 0x100, IN_DELETE = 0x200,
        IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_IGNORED = 0x8000, IN_ISDIR = 0x40000000, IN_ALL_EVENTS = 0xfff;

    private static List<(int Wd, uint Mask, uint Cookie, string Name, int Len)> Events(FilesFixture f, int ifd)
    {
        ulong buf = f.Mem.Alloc(4096);
        long n = FilesFixture.Call(f.Task, 0, (ulong)ifd, buf, 4096);
        var list = new List<(int, uint, uint, string, int)>();
        if (n <= 0) return list;
        var b = f.Mem.Get(buf, (int)n);
        for (int off = 0; off < n;)
        {
            int wd = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(off));
            uint mask = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(off + 4));
            uint cookie = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(off + 8));
            int len = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(off + 12));
            string name = Encoding.UTF8.GetString(b, off + 16, len).TrimEnd('\0');
            list.Add((wd, mask, cookie, name, len));
            off += 16 + len;
        }
        return list;
    }

    [Fact]
    public void FileOperationsProduceLinuxEventsInOrder()
    {
        var f = new FilesFixture(mountDefaults: false);
        f.Call(83, f.Mem.Str("/w"), 0x1ed);
        int ifd = (int)f.Call(294, IN_NONBLOCK);
        Assert.True(ifd >= 0);
        int wd = (int)f.Call(254, (ulong)ifd, f.Mem.Str("/w"), IN_ALL_EVENTS);
        Assert.Equal(1, wd);
        Assert.Equal(-Errno.EAGAIN, f.Call(0, (ulong)ifd, f.Mem.Alloc(64), 64));

        int fd = f.Open("/w/file", 0x41 /* O_WRONLY|O_CREAT */);
        f.Write(fd, "a");
        f.Write(fd, "b");
        f.Call(3, (ulong)fd);
        ulong avail = f.Mem.Alloc(4);
        Assert.Equal(0, f.Call(16, (ulong)ifd, 0x541B, avail));
        Assert.Equal(4 * 32, BinaryPrimitives.ReadInt32LittleEndian(f.Mem.Get(avail, 4)));
        var ev = Events(f, ifd);
        // The two writes merge into one IN_MODIFY, as on Linux.
        Assert.Equal(new[] { IN_CREATE, IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE }, ev.Select(e => e.Mask).ToArray());
        Assert.All(ev, e => Assert.Equal((wd, "file", 16), (e.Wd, e.Name, e.Len)));

        f.Call(83, f.Mem.Str("/w/sub"), 0x1ed);
        f.Call(82, f.Mem.Str("/w/file"), f.Mem.Str("/w/moved"));
        f.Call(87, f.Mem.Str("/w/moved"));
        ev = Events(f, ifd);
        Assert.Equal(new[] { IN_CREATE | IN_ISDIR, IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE }, ev.Select(e => e.Mask).ToArray());
        Assert.Equal(new[] { "sub", "file", "moved", "moved" }, ev.Select(e => e.Name).ToArray());
        Assert.NotEqual(0u, ev[1].Cookie);
        Assert.Equal(ev[1].Cookie, ev[2].Cookie);

        Assert.Equal(0, f.Call(255, (ulong)ifd, (ulong)wd));
        Assert.Equal(-Errno.EINVAL, f.Call(255, (ulong)ifd, (ulong)wd));
        ev = Events(f, ifd);
        Assert.Equal((wd, IN_IGNORED, 0), (ev.Single().Wd, ev.Single().Mask, ev.Single().Len));
    }

    [Fact]
    public void ArgumentErrorsFollowLinux()
    {
        var f = new FilesFixture(mountDefaults: false);
        Assert.Equal(-Errno.EINVAL, f.Call(294, 1));
        int ifd = (int)f.Call(294, 0);
        Assert.Equal(-Errno.EINVAL, f.Call(254, (ulong)ifd, f.Mem.Str("/"), 0));
        Assert.Equal(-Errno.EBADF, f.Call(254, 99, f.Mem.Str("/"), IN_MODIFY));
        Assert.Equal(-Errno.ENOENT, f.Call(254, (ulong)ifd, f.Mem.Str("/missing"), IN_MODIFY));
        int wd = (int)f.Call(254, (ulong)ifd, f.Mem.Str("/"), IN_MODIFY);
        Assert.Equal(wd, (int)f.Call(254, (ulong)ifd, f.Mem.Str("/"), IN_CREATE | 0x20000000 /* IN_MASK_ADD */));
        Assert.Equal(-Errno.EEXIST, f.Call(254, (ulong)ifd, f.Mem.Str("/"), IN_CREATE | 0x10000000 /* IN_MASK_CREATE */));
        // An event record does not fit an 8-byte buffer.
        f.Call(83, f.Mem.Str("/d"), 0x1ed);
        Assert.Equal(-Errno.EINVAL, f.Call(0, (ulong)ifd, f.Mem.Alloc(8), 8));
    }
}

/// <summary>The System V IPC kernel objects: ID allocation, atomic semaphore operations with undo, message selection.</summary>
public class SysVIpcObjectTests
{
    private sealed class Obj(int id) : IIpcObject
    {
        public int Id { get; } = id;
        public IpcPermissions Perm { get; } = new();
    }

    [Fact]
    public void IdsAreCyclicIndexesWithASequenceThatGrowsOnReuse()
    {
        var r = new IpcRegistry<Obj>(3);
        var ids = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(r.Allocate(out int id, out _));
            r.Add(new Obj(id));
            ids.Add(id);
        }
        Assert.Equal(new[] { 0, 1, 2 }, ids);
        Assert.False(r.Allocate(out _, out _));
        r.Remove(r.ById(1)!);
        Assert.True(r.Allocate(out int again, out ushort seq));
        Assert.Equal(1, seq);
        Assert.Equal(32768 + 1, again);
        r.Add(new Obj(again));
        Assert.Null(r.ById(1));
        Assert.NotNull(r.ById(again));
    }

    [Fact]
    public void SemaphoreOperationsAreAllOrNothingAndUndoneAtExit()
    {
        var k = new Kernel { Syscalls = LinuxSyscalls.Table };
        var tg = new ThreadGroup(k, 5);
        var set = new SemaphoreSet(0, new IpcPermissions { Mode = 0x180 }, 2);
        Assert.Equal(0, set.TryApply([new SemaphoreOperation(0, 2, SemaphoreSet.SEM_UNDO)], tg, out _));
        Assert.Equal(1, set.TryApply([new SemaphoreOperation(0, -1, 0), new SemaphoreOperation(1, -1, 0)], tg, out int at));
        Assert.Equal(1, at);
        Assert.Equal(new[] { 2, 0 }, set.Values);
        Assert.Equal(-Errno.ERANGE, set.TryApply([new SemaphoreOperation(1, SemaphoreSet.MaxValue, 0), new SemaphoreOperation(1, 1, 0)], tg, out _));
        Assert.Equal(new[] { 2, 0 }, set.Values);
        Assert.Equal(5, set.Pids[0]);
        set.ApplyUndo(tg);
        Assert.Equal(new[] { 0, 0 }, set.Values);
    }

    [Fact]
    public void MessageSelectionFollowsMsgrcvTypes()
    {
        var q = new MessageQueue(0, new IpcPermissions());
        foreach (long type in new long[] { 3, 1, 2, 1 }) q.Send(new IpcMessage(type, new byte[type]), 1);
        Assert.Equal(0, q.Find(0, 0));
        Assert.Equal(2, q.Find(2, 0));
        Assert.Equal(0, q.Find(1, MessageQueue.MSG_EXCEPT));
        Assert.Equal(1, q.Find(-2, 0));
        Assert.Equal(-1, q.Find(5, 0));
        Assert.Equal(7, q.Bytes);
        q.Take(1, 2);
        Assert.Equal(6, q.Bytes);
        Assert.Equal(2, q.Find(-1, 0));
    }
}

/// <summary>signalfd's conversion of siginfo_t to struct signalfd_siginfo.</summary>
public class SignalFdRecordTests
{
    [Fact]
    public void TimerQueueAndChildSignalsCopyTheirOwnFields()
    {
        var rec = new byte[SignalFdFile.RecordSize];
        var timer = new SignalInfo { Signo = 34, Code = SignalInfo.SI_TIMER, Value = 77 };
        BinaryPrimitives.WriteInt32LittleEndian(timer.Bytes.AsSpan(16), 4);   // si_timerid
        BinaryPrimitives.WriteInt32LittleEndian(timer.Bytes.AsSpan(20), 9);   // si_overrun
        SignalFdFile.Encode(timer, rec);
        Assert.Equal((34, -2, 4, 9, 77, 77UL, 0),
            (BinaryPrimitives.ReadInt32LittleEndian(rec), BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(8)),
             BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(24)), BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(32)),
             BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(44)), BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(48)),
             BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(12))));

        var chld = new SignalInfo { Signo = Signal.SIGCHLD, Code = SignalInfo.CLD_EXITED, Pid = 42, Uid = 7, Status = 3 };
        SignalFdFile.Encode(chld, rec);
        Assert.Equal((42, 7, 3, 0),
            (BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(12)), BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(16)),
             BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(40)), BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(44))));

        var kill = SignalInfo.FromUser(Signal.SIGTERM, SignalInfo.SI_USER, 12, 0);
        kill.Value = 0xdead;   // not part of a kill's layout: must not be copied
        SignalFdFile.Encode(kill, rec);
        Assert.Equal((12, 0UL), (BinaryPrimitives.ReadInt32LittleEndian(rec.AsSpan(12)), BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(48))));
    }
}
