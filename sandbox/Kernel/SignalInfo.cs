using System.Buffers.Binary;

namespace RunscNet.Sentry.Kernel;

/// <summary>
/// A pending signal's <c>siginfo_t</c> (128 bytes, x86-64 layout). The common fields have
/// accessors; the union is addressed by offset.
/// </summary>
internal sealed class SignalInfo
{
    /// <summary>Size of siginfo_t.</summary>
    public const int Size = 128;

    public const int SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TIMER = -2, SI_TKILL = -6;
    public const int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_STOPPED = 5, CLD_CONTINUED = 6;

    /// <summary>The raw bytes.</summary>
    public byte[] Bytes { get; } = new byte[Size];

    /// <summary>si_signo.</summary>
    public int Signo { get => Get32(0); set => Set32(0, value); }
    /// <summary>si_errno.</summary>
    public int Errno { get => Get32(4); set => Set32(4, value); }
    /// <summary>si_code.</summary>
    public int Code { get => Get32(8); set => Set32(8, value); }
    /// <summary>si_pid (kill, sigqueue, SIGCHLD).</summary>
    public int Pid { get => Get32(16); set => Set32(16, value); }
    /// <summary>si_uid.</summary>
    public uint Uid { get => (uint)Get32(20); set => Set32(20, (int)value); }
    /// <summary>si_status (SIGCHLD).</summary>
    public int Status { get => Get32(24); set => Set32(24, value); }
    /// <summary>si_value (sigqueue) / si_addr (faults: offset 16).</summary>
    public ulong Value { get => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(24)); set => BinaryPrimitives.WriteUInt64LittleEndian(Bytes.AsSpan(24), value); }

    private int Get32(int o) => BinaryPrimitives.ReadInt32LittleEndian(Bytes.AsSpan(o));
    private void Set32(int o, int v) => BinaryPrimitives.WriteInt32LittleEndian(Bytes.AsSpan(o), v);

    /// <summary>A siginfo from kill(2)-like senders.</summary>
    public static SignalInfo FromUser(int signo, int code, int pid, uint uid) =>
        new() { Signo = signo, Code = code, Pid = pid, Uid = uid };

    /// <summary>A siginfo the kernel generates (SI_KERNEL).</summary>
    public static SignalInfo FromKernel(int signo) => new() { Signo = signo, Code = SI_KERNEL };

    /// <summary>A copy of a raw 128-byte siginfo (host faults, rt_sigqueueinfo).</summary>
    public static SignalInfo FromBytes(ReadOnlySpan<byte> raw)
    {
        var s = new SignalInfo();
        raw[..Math.Min(raw.Length, Size)].CopyTo(s.Bytes);
        return s;
    }
}

/// <summary>
/// Pending signals of a task or thread group: at most one of each standard signal, a queue of
/// real-time ones. Guarded by <see cref="Kernel.TaskLock"/>.
/// </summary>
internal sealed class SignalQueue
{
    private readonly List<SignalInfo> _queue = new();

    /// <summary>The set of pending signal numbers.</summary>
    public ulong Set { get; private set; }

    /// <summary>How many signals are queued (SigQ of /proc/PID/status).</summary>
    public int Count => _queue.Count;

    /// <summary>Queues <paramref name="info"/>; a standard signal already pending is merged. Returns false if dropped.</summary>
    public bool Enqueue(SignalInfo info)
    {
        int s = info.Signo;
        if (!Signal.IsRealtime(s) && (Set & Signal.Bit(s)) != 0) return false;
        _queue.Add(info);
        Set |= Signal.Bit(s);
        return true;
    }

    /// <summary>Removes and returns the first pending instance of <paramref name="signo"/>.</summary>
    public SignalInfo? Dequeue(int signo)
    {
        int i = _queue.FindIndex(q => q.Signo == signo);
        if (i < 0) return null;
        var info = _queue[i];
        _queue.RemoveAt(i);
        if (!_queue.Exists(q => q.Signo == signo)) Set &= ~Signal.Bit(signo);
        return info;
    }

    /// <summary>The queued signals in order (checkpoint). Caller holds the task lock.</summary>
    public SignalInfo[] Snapshot() => _queue.ToArray();

    /// <summary>True if this very siginfo is still queued (POSIX timer overruns).</summary>
    public bool Contains(SignalInfo info) => _queue.Contains(info);

    /// <summary>Drops every pending instance of the signals in <paramref name="mask"/>.</summary>
    public void Discard(ulong mask)
    {
        _queue.RemoveAll(q => (mask & Signal.Bit(q.Signo)) != 0);
        Set &= ~mask;
    }

    /// <summary>The lowest pending signal number in <paramref name="allowed"/>, or 0.</summary>
    public int First(ulong allowed)
    {
        ulong m = Set & allowed;
        if (m == 0) return 0;
        // Synchronous fault signals first, as Linux does, then the lowest number.
        const ulong sync = (1UL << 10) | (1UL << 6) | (1UL << 7) | (1UL << 3) | (1UL << 4) | (1UL << 30);
        if ((m & sync) != 0) m &= sync;
        return System.Numerics.BitOperations.TrailingZeroCount(m) + 1;
    }
}
