using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Event;

namespace RunscNet.Sentry.Syscalls;

/// <summary>
/// Waiting for file readiness: poll, ppoll, select, pselect6, the epoll family, and the event
/// files (eventfd, timerfd). Each handler documents the man-page semantics it implements.
/// </summary>
internal static partial class PollSyscalls
{
    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(7, "poll", Poll);
        t.Supported(23, "select", Select);
        t.Supported(213, "epoll_create", EpollCreate);
        t.Supported(232, "epoll_wait", EpollWait);
        t.Supported(233, "epoll_ctl", EpollCtl);
        t.Supported(270, "pselect6", Pselect6);
        t.Supported(271, "ppoll", Ppoll);
        t.Supported(281, "epoll_pwait", EpollPwait);
        t.Partial(283, "timerfd_create", TimerfdCreate, "CLOCK_REALTIME absolute timers are not re-armed when the clock is set.");
        t.Supported(284, "eventfd", Eventfd);
        t.Supported(286, "timerfd_settime", TimerfdSettime);
        t.Supported(287, "timerfd_gettime", TimerfdGettime);
        t.Supported(290, "eventfd2", Eventfd2);
        t.Supported(291, "epoll_create1", EpollCreate1);
        t.Supported(441, "epoll_pwait2", EpollPwait2);
    }

    /// <summary>Waits until <paramref name="check"/> reports something or the timeout passes; -ERESTARTNOHAND on a signal.</summary>
    private static int WaitFor(Task t, Func<bool> check, Func<List<WaitQueue>> queues, TimeSpan? timeout)
    {
        if (check()) return 0;
        if (timeout == TimeSpan.Zero) return 0;
        while (true)
        {
            var qs = queues();
            var r = t.Block(check, qs.ToArray(), timeout);
            if (r == BlockResult.Interrupted) return -Errno.ERESTARTNOHAND;
            return 0;
        }
    }

    // ---- poll -------------------------------------------------------------------------------

    private static long DoPoll(Task t, ulong fdsAddr, ulong nfds, TimeSpan? timeout)
    {
        if (nfds > (ulong)t.Fds.Limit || nfds > 1 << 20) return -Errno.EINVAL;
        int n = (int)nfds;
        var raw = new byte[n * 8];
        int err = t.Memory.CopyIn(fdsAddr, raw);
        if (err != 0) return err;
        var fds = new int[n];
        var events = new short[n];
        var revents = new short[n];
        var files = new FileDescription?[n];
        for (int i = 0; i < n; i++)
        {
            fds[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(i * 8));
            events[i] = BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 8 + 4));
            files[i] = fds[i] >= 0 ? t.Fds.Get(fds[i]) : null;
        }
        int ready = 0;
        bool Check()
        {
            ready = 0;
            for (int i = 0; i < n; i++)
            {
                if (fds[i] < 0) { revents[i] = 0; continue; }
                var f = files[i];
                revents[i] = f == null ? PollEvents.POLLNVAL : f.Readiness((short)(events[i] | PollEvents.POLLERR | PollEvents.POLLHUP));
                if (f != null) revents[i] &= (short)(events[i] | PollEvents.POLLERR | PollEvents.POLLHUP);
                if (revents[i] != 0) ready++;
            }
            return ready > 0;
        }
        List<WaitQueue> Queues() => files.Where(f => f?.ReadinessQueue != null).Select(f => f!.ReadinessQueue!).Distinct().ToList();
        err = WaitFor(t, Check, Queues, timeout);
        if (err != 0) return err;
        for (int i = 0; i < n; i++) BinaryPrimitives.WriteInt16LittleEndian(raw.AsSpan(i * 8 + 6), revents[i]);
        err = t.Memory.CopyOut(fdsAddr, raw);
        return err != 0 ? err : ready;
    }

    /// <summary>poll(2): timeout in ms (negative: forever); POLLNVAL for closed fds; negative fds ignored.</summary>
    private static long Poll(Task t, in SyscallArguments a)
    {
        int ms = (int)a.A2;
        return DoPoll(t, a.A0, a.A1, ms < 0 ? null : TimeSpan.FromMilliseconds(ms));
    }

    private static int ReadTimespec(Task t, ulong addr, out TimeSpan? timeout)
    {
        timeout = null;
        if (addr == 0) return 0;
        var b = new byte[16];
        int err = t.Memory.CopyIn(addr, b);
        if (err != 0) return err;
        long sec = BitConverter.ToInt64(b, 0), nsec = BitConverter.ToInt64(b, 8);
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
        timeout = TimeSpan.FromTicks(Math.Min(sec, 10_000_000_000L) * TimeSpan.TicksPerSecond + nsec / 100);
        return 0;
    }

    /// <summary>
    /// The temporary signal mask of ppoll, pselect6 and epoll_pwait (Linux's set_user_sigmask):
    /// none for a NULL mask; EINVAL unless the size is 8, EFAULT. The caller's mask is kept in
    /// <see cref="Task.SavedSignalMask"/> and <see cref="EndTemporaryMask"/> puts it back.
    /// </summary>
    private static int BeginTemporaryMask(Task t, ulong maskAddr, ulong size)
    {
        if (maskAddr == 0) return 0;
        if (size != 8) return -Errno.EINVAL;
        if (t.Memory.CopyInStruct(maskAddr, out ulong mask) != 0) return -Errno.EFAULT;
        t.SavedSignalMask = t.SignalMask;
        t.SetSignalMask(mask);
        return 0;
    }

    /// <summary>
    /// After the wait: the caller's mask comes back now, unless a signal interrupted the call; then
    /// the handler runs with the temporary mask in effect and the saved one returns after it, as
    /// Linux's restore_saved_sigmask_unless.
    /// </summary>
    private static long EndTemporaryMask(Task t, ulong maskAddr, long result)
    {
        if (maskAddr == 0 || result == -Errno.EINTR || result == -Errno.ERESTARTNOHAND) return result;
        if (t.SavedSignalMask is ulong saved)
        {
            t.SavedSignalMask = null;
            t.SetSignalMask(saved);
        }
        return result;
    }

    /// <summary>
    /// ppoll(2): poll with a timespec timeout (NULL: forever), EINVAL for a bad timespec, and a
    /// temporary signal mask for the wait; the time left is written back.
    /// </summary>
    private static long Ppoll(Task t, in SyscallArguments a)
    {
        int err = ReadTimespec(t, a.A2, out var timeout);
        if (err != 0) return err;
        err = BeginTemporaryMask(t, a.A3, a.A4);
        if (err != 0) return err;
        var start = DateTime.UtcNow;
        long r = DoPoll(t, a.A0, a.A1, timeout);
        if (a.A2 != 0 && timeout is { } to) WriteRemaining(t, a.A2, to - (DateTime.UtcNow - start), nanos: true);
        return EndTemporaryMask(t, a.A3, r);
    }

    private static void WriteRemaining(Task t, ulong addr, TimeSpan left, bool nanos)
    {
        if (left < TimeSpan.Zero) left = TimeSpan.Zero;
        long sec = left.Ticks / TimeSpan.TicksPerSecond;
        long frac = left.Ticks % TimeSpan.TicksPerSecond;
        var b = new byte[16];
        BitConverter.TryWriteBytes(b.AsSpan(0), sec);
        BitConverter.TryWriteBytes(b.AsSpan(8), nanos ? frac * 100 : frac / 10);
        t.Memory.CopyOut(addr, b);
    }

    // ---- select -----------------------------------------------------------------------------

    private static long DoSelect(Task t, int nfds, ulong rAddr, ulong wAddr, ulong eAddr, TimeSpan? timeout)
    {
        if (nfds < 0 || nfds > t.Fds.Limit) return -Errno.EINVAL;
        int bytes = (nfds + 63) / 64 * 8;
        byte[]? Load(ulong addr)
        {
            if (addr == 0) return null;
            var b = new byte[bytes];
            return t.Memory.CopyIn(addr, b) == 0 ? b : throw new InvalidOperationException();
        }
        byte[]? rs, ws, es;
        try { rs = Load(rAddr); ws = Load(wAddr); es = Load(eAddr); }
        catch (InvalidOperationException) { return -Errno.EFAULT; }
        static bool IsSet(byte[]? s, int fd) => s != null && (s[fd / 8] & (1 << (fd % 8))) != 0;
        var files = new Dictionary<int, FileDescription>();
        for (int fd = 0; fd < nfds; fd++)
        {
            if (!IsSet(rs, fd) && !IsSet(ws, fd) && !IsSet(es, fd)) continue;
            var f = t.Fds.Get(fd);
            if (f == null) return -Errno.EBADF;
            files[fd] = f;
        }
        var ro = new byte[bytes];
        var wo = new byte[bytes];
        var eo = new byte[bytes];
        int count = 0;
        bool Check()
        {
            Array.Clear(ro); Array.Clear(wo); Array.Clear(eo);
            count = 0;
            foreach (var (fd, f) in files)
            {
                short ev = f.Readiness((short)(PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLPRI | PollEvents.POLLRDNORM | PollEvents.POLLWRNORM));
                if (IsSet(rs, fd) && (ev & (PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLHUP | PollEvents.POLLERR)) != 0) { ro[fd / 8] |= (byte)(1 << (fd % 8)); count++; }
                if (IsSet(ws, fd) && (ev & (PollEvents.POLLOUT | PollEvents.POLLWRNORM | PollEvents.POLLERR)) != 0) { wo[fd / 8] |= (byte)(1 << (fd % 8)); count++; }
                if (IsSet(es, fd) && (ev & PollEvents.POLLPRI) != 0) { eo[fd / 8] |= (byte)(1 << (fd % 8)); count++; }
            }
            return count > 0;
        }
        List<WaitQueue> Queues() => files.Values.Where(f => f.ReadinessQueue != null).Select(f => f.ReadinessQueue!).Distinct().ToList();
        int err = WaitFor(t, Check, Queues, timeout);
        if (err != 0) return err;
        if (rAddr != 0 && t.Memory.CopyOut(rAddr, ro) != 0) return -Errno.EFAULT;
        if (wAddr != 0 && t.Memory.CopyOut(wAddr, wo) != 0) return -Errno.EFAULT;
        if (eAddr != 0 && t.Memory.CopyOut(eAddr, eo) != 0) return -Errno.EFAULT;
        return count;
    }

    /// <summary>select(2): fd_set bitmaps, struct timeval timeout (updated with the time left); EBADF for a closed fd in a set.</summary>
    private static long Select(Task t, in SyscallArguments a)
    {
        TimeSpan? timeout = null;
        if (a.A4 != 0)
        {
            var b = new byte[16];
            if (t.Memory.CopyIn(a.A4, b) != 0) return -Errno.EFAULT;
            long sec = BitConverter.ToInt64(b, 0), usec = BitConverter.ToInt64(b, 8);
            if (sec < 0 || usec < 0) return -Errno.EINVAL;
            timeout = TimeSpan.FromTicks(Math.Min(sec, 10_000_000_000L) * TimeSpan.TicksPerSecond + usec * 10);
        }
        var start = DateTime.UtcNow;
        long r = DoSelect(t, (int)a.A0, a.A1, a.A2, a.A3, timeout);
        if (a.A4 != 0 && timeout is { } to) WriteRemaining(t, a.A4, to - (DateTime.UtcNow - start), nanos: false);
        return r;
    }

    /// <summary>pselect6(2): select with a timespec timeout.</summary>
    /// <remarks>The sixth argument is struct {const sigset_t *ss; size_t ss_len;}: the temporary mask; the time left is written back.</remarks>
    private static long Pselect6(Task t, in SyscallArguments a)
    {
        int err = ReadTimespec(t, a.A4, out var timeout);
        if (err != 0) return err;
        ulong maskAddr = 0, maskSize = 0;
        if (a.A5 != 0)
        {
            var b = new byte[16];
            if (t.Memory.CopyIn(a.A5, b) != 0) return -Errno.EFAULT;
            maskAddr = BitConverter.ToUInt64(b, 0);
            maskSize = BitConverter.ToUInt64(b, 8);
        }
        err = BeginTemporaryMask(t, maskAddr, maskSize);
        if (err != 0) return err;
        var start = DateTime.UtcNow;
        long r = DoSelect(t, (int)a.A0, a.A1, a.A2, a.A3, timeout);
        if (a.A4 != 0 && timeout is { } to) WriteRemaining(t, a.A4, to - (DateTime.UtcNow - start), nanos: true);
        return EndTemporaryMask(t, maskAddr, r);
    }

    // ---- epoll --------------------------------------------------------------------------------

    /// <summary>epoll_create(2): size must be positive (EINVAL).</summary>
    private static long EpollCreate(Task t, in SyscallArguments a)
        => (int)a.A0 <= 0 ? -Errno.EINVAL : t.Fds.InstallNew(new EpollFile(0), false);

    /// <summary>epoll_create1(2): EPOLL_CLOEXEC only.</summary>
    private static long EpollCreate1(Task t, in SyscallArguments a)
    {
        int flags = (int)a.A0;
        if ((flags & ~OpenFlags.O_CLOEXEC) != 0) return -Errno.EINVAL;
        return t.Fds.InstallNew(new EpollFile(0), flags != 0);
    }

    /// <summary>epoll_ctl(2): ADD/MOD/DEL with struct epoll_event {u32 events; u64 data} (packed).</summary>
    private static long EpollCtl(Task t, in SyscallArguments a)
    {
        var ep = t.Fds.Get((int)a.A0);
        var f = t.Fds.Get((int)a.A2);
        if (ep == null || f == null) return -Errno.EBADF;
        if (ep is not EpollFile epoll) return -Errno.EINVAL;
        int op = (int)a.A1;
        uint events = 0;
        ulong data = 0;
        if (op != 2)
        {
            var b = new byte[12];
            if (t.Memory.CopyIn(a.A3, b) != 0) return -Errno.EFAULT;
            events = BitConverter.ToUInt32(b, 0);
            data = BitConverter.ToUInt64(b, 4);
        }
        return epoll.Control(op, (int)a.A2, f, events, data);
    }

    private static long DoEpollWait(Task t, int epfd, ulong eventsAddr, int max, TimeSpan? timeout)
    {
        if (max <= 0 || max > (int.MaxValue / 12)) return -Errno.EINVAL;
        var f = t.Fds.Get(epfd);
        if (f == null) return -Errno.EBADF;
        if (f is not EpollFile ep) return -Errno.EINVAL;
        List<(uint Events, ulong Data)> ready = new();
        bool Check()
        {
            ready = ep.Collect(max);
            return ready.Count > 0;
        }
        int err = WaitFor(t, Check, ep.Queues, timeout);
        if (err != 0) return err == -Errno.ERESTARTNOHAND ? -Errno.EINTR : err;
        var b = new byte[ready.Count * 12];
        for (int i = 0; i < ready.Count; i++)
        {
            BitConverter.TryWriteBytes(b.AsSpan(i * 12), ready[i].Events);
            BitConverter.TryWriteBytes(b.AsSpan(i * 12 + 4), ready[i].Data);
        }
        err = t.Memory.CopyOut(eventsAddr, b);
        return err != 0 ? err : ready.Count;
    }

    /// <summary>epoll_wait(2): timeout in ms; EINTR when a signal arrives (never restarted, as on Linux).</summary>
    private static long EpollWait(Task t, in SyscallArguments a)
    {
        int ms = (int)a.A3;
        return DoEpollWait(t, (int)a.A0, a.A1, (int)a.A2, ms < 0 ? null : TimeSpan.FromMilliseconds(ms));
    }

    /// <summary>epoll_pwait(2): epoll_wait with a temporary signal mask (EINVAL unless sigsetsize is 8, EFAULT).</summary>
    private static long EpollPwait(Task t, in SyscallArguments a)
    {
        int err = BeginTemporaryMask(t, a.A4, a.A5);
        if (err != 0) return err;
        return EndTemporaryMask(t, a.A4, EpollWait(t, a));
    }

    /// <summary>epoll_pwait2(2): timespec timeout.</summary>
    private static long EpollPwait2(Task t, in SyscallArguments a)
    {
        int err = ReadTimespec(t, a.A3, out var timeout);
        if (err != 0) return err;
        err = BeginTemporaryMask(t, a.A4, a.A5);
        if (err != 0) return err;
        return EndTemporaryMask(t, a.A4, DoEpollWait(t, (int)a.A0, a.A1, (int)a.A2, timeout));
    }

    // ---- eventfd / timerfd ------------------------------------------------------------------

    /// <summary>eventfd(2): no flags.</summary>
    private static long Eventfd(Task t, in SyscallArguments a) => t.Fds.InstallNew(new EventFdFile((uint)a.A0, false, 0), false);

    /// <summary>eventfd2(2): EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE (others EINVAL).</summary>
    private static long Eventfd2(Task t, in SyscallArguments a)
    {
        int flags = (int)a.A1;
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | 1)) != 0) return -Errno.EINVAL;
        var f = new EventFdFile((uint)a.A0, (flags & 1) != 0, flags & OpenFlags.O_NONBLOCK);
        return t.Fds.InstallNew(f, (flags & OpenFlags.O_CLOEXEC) != 0);
    }

    /// <summary>timerfd_create(2): CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME(_ALARM), CLOCK_REALTIME_ALARM; TFD_CLOEXEC/TFD_NONBLOCK.</summary>
    private static long TimerfdCreate(Task t, in SyscallArguments a)
    {
        int clock = (int)a.A0, flags = (int)a.A1;
        if (clock is not (0 or 1 or 7 or 8 or 9)) return -Errno.EINVAL;
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK)) != 0) return -Errno.EINVAL;
        return t.Fds.InstallNew(new TimerFdFile(clock, flags & OpenFlags.O_NONBLOCK), (flags & OpenFlags.O_CLOEXEC) != 0);
    }

    private static void PutItimerspec(byte[] b, long intervalNs, long valueNs)
    {
        BitConverter.TryWriteBytes(b.AsSpan(0), intervalNs / 1_000_000_000);
        BitConverter.TryWriteBytes(b.AsSpan(8), intervalNs % 1_000_000_000);
        BitConverter.TryWriteBytes(b.AsSpan(16), valueNs / 1_000_000_000);
        BitConverter.TryWriteBytes(b.AsSpan(24), valueNs % 1_000_000_000);
    }

    /// <summary>timerfd_settime(2): struct itimerspec {interval, value}; TFD_TIMER_ABSTIME; old value copied out if asked.</summary>
    private static long TimerfdSettime(Task t, in SyscallArguments a)
    {
        var f = t.Fds.Get((int)a.A0);
        if (f == null) return -Errno.EBADF;
        if (f is not TimerFdFile tf) return -Errno.EINVAL;
        int flags = (int)a.A1;
        if ((flags & ~3) != 0) return -Errno.EINVAL;
        var b = new byte[32];
        if (t.Memory.CopyIn(a.A2, b) != 0) return -Errno.EFAULT;
        long isec = BitConverter.ToInt64(b, 0), insec = BitConverter.ToInt64(b, 8);
        long vsec = BitConverter.ToInt64(b, 16), vnsec = BitConverter.ToInt64(b, 24);
        if (insec < 0 || insec >= 1_000_000_000 || vnsec < 0 || vnsec >= 1_000_000_000 || isec < 0 || vsec < 0) return -Errno.EINVAL;
        // Linux saturates times past KTIME_MAX (timespec64_to_ktime) rather than wrapping.
        static long Nanos(long sec, long nsec) => sec > long.MaxValue / 1_000_000_000 - 1 ? long.MaxValue : sec * 1_000_000_000 + nsec;
        tf.Set(Nanos(vsec, vnsec), Nanos(isec, insec), (flags & 1) != 0, out long oldV, out long oldI);
        if (a.A3 != 0)
        {
            PutItimerspec(b, oldI, oldV);
            if (t.Memory.CopyOut(a.A3, b) != 0) return -Errno.EFAULT;
        }
        return 0;
    }

    /// <summary>timerfd_gettime(2).</summary>
    private static long TimerfdGettime(Task t, in SyscallArguments a)
    {
        var f = t.Fds.Get((int)a.A0);
        if (f == null) return -Errno.EBADF;
        if (f is not TimerFdFile tf) return -Errno.EINVAL;
        tf.Get(out long v, out long i);
        var b = new byte[32];
        PutItimerspec(b, i, v);
        return t.Memory.CopyOut(a.A1, b);
    }
}
