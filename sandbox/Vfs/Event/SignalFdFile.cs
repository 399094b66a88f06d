using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Event;

/// <summary>
/// A signalfd (signalfd(2)): reading it dequeues the reading thread's pending signals (its own
/// and its process's) that are in the file's mask, as 128-byte <c>struct signalfd_siginfo</c>
/// records. Like Linux, what the file reports always depends on the thread using it, not on
/// the one that created it. Readable (POLLIN) while such a signal is pending.
/// </summary>
internal sealed class SignalFdFile : FileDescription
{
    /// <summary>sizeof(struct signalfd_siginfo).</summary>
    public const int RecordSize = 128;

    private readonly Kernel.Kernel _kernel;
    private readonly ThreadGroup _creator;
    private ulong _mask;

    [ThreadStatic] private static Task? s_current;

    /// <summary>A signalfd for <paramref name="mask"/> created by <paramref name="creator"/>.</summary>
    public SignalFdFile(Task creator, ulong mask, int flags)
    {
        _kernel = creator.Kernel;
        _creator = creator.ThreadGroup;
        _mask = mask & ~Signal.Unblockable;
        StatusFlags = OpenFlags.O_RDWR | flags;
    }

    /// <summary>The signals the file reports (SIGKILL and SIGSTOP never are).</summary>
    public ulong Mask
    {
        get => Volatile.Read(ref _mask);
        set
        {
            Volatile.Write(ref _mask, value & ~Signal.Unblockable);
            CurrentGroup().SignalEvents.Notify();
        }
    }

    /// <summary>The task served by the calling thread (poll and epoll ask without naming it).</summary>
    private Task? CurrentTask()
    {
        var t = s_current;
        var thread = Thread.CurrentThread;
        if (t != null && t.Thread == thread && !t.Exited && t.Kernel == _kernel) return t;
        foreach (var candidate in _kernel.Tasks())
        {
            if (candidate.Thread == thread)
            {
                s_current = candidate;
                return candidate;
            }
        }
        return null;
    }

    private ThreadGroup CurrentGroup() => CurrentTask()?.ThreadGroup ?? _creator;

    /// <inheritdoc/>
    public override long Read(Task task, Span<byte> destination)
    {
        if (destination.Length < RecordSize) return -Errno.EINVAL;
        s_current = task;
        int max = destination.Length / RecordSize;
        while (true)
        {
            int n = 0;
            lock (_kernel.TaskLock)
            {
                while (n < max && task.DequeueLocked(Mask) is { } info)
                {
                    Encode(info, destination.Slice(n * RecordSize, RecordSize));
                    n++;
                }
            }
            if (n > 0) return n * RecordSize;
            if (NonBlocking) return -Errno.EAGAIN;
            var r = task.Block(() => (task.PendingSet() & Mask) != 0, task.ThreadGroup.SignalEvents);
            if (r == BlockResult.Interrupted) return -Errno.ERESTARTSYS;
        }
    }

    /// <summary>
    /// Converts a siginfo_t to struct signalfd_siginfo: which union fields are copied follows the
    /// siginfo layout Linux derives from the signal and si_code (kill, timer, rt, child, fault, poll).
    /// </summary>
    public static void Encode(SignalInfo info, Span<byte> record)
    {
        var rec = new byte[RecordSize];
        var raw = info.Bytes;
        int signo = info.Signo, code = info.Code;
        void U32(int off, int v) => BinaryPrimitives.WriteInt32LittleEndian(rec.AsSpan(off), v);
        void U64(int off, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(off), v);
        int I32(int off) => BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(off));
        ulong I64(int off) => BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(off));
        U32(0, signo);
        U32(4, info.Errno);
        U32(8, code);
        const int ssi_pid = 12, ssi_uid = 16, ssi_fd = 20, ssi_tid = 24, ssi_band = 28, ssi_overrun = 32, ssi_status = 40,
            ssi_int = 44, ssi_ptr = 48, ssi_utime = 56, ssi_stime = 64, ssi_addr = 72;
        bool kernelCode = code > SignalInfo.SI_USER && code < SignalInfo.SI_KERNEL;
        if (kernelCode && signo == Signal.SIGCHLD)
        {
            U32(ssi_pid, I32(16));
            U32(ssi_uid, I32(20));
            U32(ssi_status, I32(24));
            U64(ssi_utime, I64(32));
            U64(ssi_stime, I64(40));
        }
        else if (kernelCode && signo is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGILL or Signal.SIGFPE or Signal.SIGTRAP or Signal.SIGSYS)
        {
            U64(ssi_addr, I64(16));
        }
        else if ((kernelCode && signo == Signal.SIGIO) || code == -4 /* SI_SIGIO */)
        {
            U32(ssi_band, (int)I64(16));
            U32(ssi_fd, I32(24));
        }
        else if (code == SignalInfo.SI_TIMER)
        {
            U32(ssi_tid, I32(16));
            U32(ssi_overrun, I32(20));
            U64(ssi_ptr, I64(24));
            U32(ssi_int, I32(24));
        }
        else if (code < 0)
        {
            U32(ssi_pid, I32(16));
            U32(ssi_uid, I32(20));
            U64(ssi_ptr, I64(24));
            U32(ssi_int, I32(24));
        }
        else
        {
            U32(ssi_pid, I32(16));
            U32(ssi_uid, I32(20));
        }
        rec.CopyTo(record);
    }

    /// <inheritdoc/>
    public override long Write(Task task, ReadOnlySpan<byte> source) => -Errno.EINVAL;

    /// <inheritdoc/>
    public override short Readiness(short mask)
    {
        ulong pending;
        var t = CurrentTask();
        lock (_kernel.TaskLock) pending = t != null ? t.Pending.Set | t.ThreadGroup.Pending.Set : _creator.Pending.Set;
        return (short)((pending & Mask) != 0 ? mask & (PollEvents.POLLIN | PollEvents.POLLRDNORM) : 0);
    }

    /// <inheritdoc/>
    public override WaitQueue? ReadinessQueue => CurrentGroup().SignalEvents;

    /// <inheritdoc/>
    public override string AnonymousName => "anon_inode:[signalfd]";

    /// <inheritdoc/>
    public override int Stat(out InodeAttr attr)
    {
        attr = AnonymousAttr(0x180);
        return 0;
    }
}
