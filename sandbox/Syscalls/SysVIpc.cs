using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Kernel.Ipc;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs.Tmpfs;

namespace RunscNet.Sentry.Syscalls;

/// <summary>System V IPC: semaphores (semget, semop, semtimedop, semctl), message queues (msgget, msgsnd, msgrcv, msgctl) and shared memory (shmget, shmat, shmdt, shmctl).</summary>
internal static class SysVIpcSyscalls
{
    private const int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3;
    private const int GETPID = 11, GETVAL = 12, GETALL = 13, GETNCNT = 14, GETZCNT = 15, SETVAL = 16, SETALL = 17,
        SEM_STAT = 18, SEM_INFO = 19, SEM_STAT_ANY = 20;
    private const int MSG_STAT = 11, MSG_INFO = 12, MSG_STAT_ANY = 13;
    private const int SEMOPM = 500, MSGMNI = 32000;
    private const int CAP_SYS_RESOURCE = 24;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(64, "semget", Semget);
        t.Supported(65, "semop", (Task task, in SyscallArguments a) => Semop(task, (int)a.A0, a.A1, (long)a.A2, 0));
        t.Supported(220, "semtimedop", (Task task, in SyscallArguments a) => Semop(task, (int)a.A0, a.A1, (long)a.A2, a.A3));
        t.Supported(66, "semctl", Semctl);
        t.Supported(68, "msgget", Msgget);
        t.Partial(69, "msgsnd", Msgsnd, "Queues hold at most msg_qbytes bytes and as many messages.");
        t.Partial(70, "msgrcv", Msgrcv, "MSG_COPY is not supported (ENOSYS, as a kernel without CONFIG_CHECKPOINT_RESTORE).");
        t.Supported(71, "msgctl", Msgctl);
        t.Supported(29, "shmget", Shmget);
        t.Partial(30, "shmat", Shmat, "Needs a platform that maps host fds into the stub (systrap; ptrace gives ENODEV). Attachments a fork copies are not counted in shm_nattch.");
        t.Supported(67, "shmdt", Shmdt);
        t.Partial(31, "shmctl", Shmctl, "SHM_LOCK/SHM_UNLOCK only set the flag.");
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // ---- semaphores -----------------------------------------------------------------------

    /// <summary>
    /// semget(2): EINVAL for nsems outside 0..SEMMSL (and 0 for a new set, or more than an
    /// existing set has); ENOENT, EEXIST, EACCES, ENOSPC as for every *get.
    /// </summary>
    private static long Semget(Task t, in SyscallArguments a)
    {
        int key = (int)a.A0, nsems = (int)a.A1, flags = (int)a.A2;
        if (nsems < 0 || nsems > SemaphoreSet.MaxSemaphores) return -Errno.EINVAL;
        var ns = t.Kernel.Ipc;
        lock (ns.Lock)
        {
            int err = ns.GetLocked(ns.Semaphores, t, key, flags,
                () => nsems == 0 ? -Errno.EINVAL : 0,
                (id, perm) => new SemaphoreSet(id, perm, nsems),
                set => nsems > set.Values.Length ? -Errno.EINVAL : 0,
                out var s);
            return err != 0 ? err : s!.Id;
        }
    }

    /// <summary>
    /// semop(2)/semtimedop(2): EINVAL for nsops &lt; 1 or an unknown set, E2BIG past SEMOPM,
    /// EFAULT, EFBIG for a semaphore number out of range, EACCES without read (waits for zero
    /// only) or write permission. The operations apply atomically; a caller that must wait
    /// sleeps (EAGAIN with IPC_NOWAIT or when the timeout passes, EIDRM if the set is removed,
    /// EINTR on a signal). ERANGE past SEMVMX.
    /// </summary>
    private static long Semop(Task t, int semid, ulong sopsAddr, long nsops, ulong timeoutAddr)
    {
        if (nsops < 1 || semid < 0) return -Errno.EINVAL;
        if (nsops > SEMOPM) return -Errno.E2BIG;
        var raw = new byte[nsops * 6];
        if (t.Memory.CopyIn(sopsAddr, raw) != 0) return -Errno.EFAULT;
        TimeSpan? timeout = null;
        if (timeoutAddr != 0)
        {
            int terr = TimeSyscalls.ReadTimespec(t, timeoutAddr, out long sec, out long nsec);
            if (terr != 0) return terr;
            timeout = TimeSpan.FromTicks(Math.Min(sec, 1L << 32) * TimeSpan.TicksPerSecond + nsec / 100);
        }
        var ops = new SemaphoreOperation[nsops];
        bool alter = false;
        int maxNum = 0;
        for (int i = 0; i < nsops; i++)
        {
            var op = new SemaphoreOperation(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(i * 6)),
                BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 6 + 2)), BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 6 + 4)));
            ops[i] = op;
            maxNum = Math.Max(maxNum, op.Number);
            if (op.Operation != 0) alter = true;
        }
        var ns = t.Kernel.Ipc;
        SemaphoreSet set;
        int waitingOn = -1;
        bool waitingForZero = false;
        lock (ns.Lock)
        {
            var s = ns.Semaphores.ById(semid);
            if (s == null) return -Errno.EINVAL;
            set = s;
            if (maxNum >= set.Values.Length) return -Errno.EFBIG;
            if (!set.Perm.Allows(t.Credentials, alter ? 0x92 : 0x124)) return -Errno.EACCES;
        }
        int result = 0;
        bool Ready()
        {
            lock (ns.Lock)
            {
                if (set.Removed) { result = -Errno.EIDRM; return true; }
                int r = set.TryApply(ops, t.ThreadGroup, out int at);
                if (r <= 0) { result = r; return true; }
                var blocking = ops[at];
                if ((blocking.Flags & SemaphoreSet.IPC_NOWAIT) != 0) { result = -Errno.EAGAIN; return true; }
                bool zero = blocking.Operation == 0;
                if (waitingOn != blocking.Number || waitingForZero != zero)
                {
                    Unwait();
                    waitingOn = blocking.Number;
                    waitingForZero = zero;
                    if (zero) set.WaitingForZero[waitingOn]++;
                    else set.WaitingForIncrease[waitingOn]++;
                }
                return false;
            }
        }
        void Unwait()
        {
            if (waitingOn < 0) return;
            if (waitingForZero) set.WaitingForZero[waitingOn]--;
            else set.WaitingForIncrease[waitingOn]--;
            waitingOn = -1;
        }
        BlockResult br;
        try
        {
            br = t.Block(Ready, set.Queue, timeout);
        }
        finally
        {
            lock (ns.Lock) Unwait();
        }
        return br switch
        {
            BlockResult.Ready => result,
            BlockResult.TimedOut => -Errno.EAGAIN,
            _ => -Errno.ERESTARTNOHAND,
        };
    }

    private static byte[] SemidDs(SemaphoreSet s)
    {
        var b = new byte[104];
        s.Perm.Write(b);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(48), s.OperationTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(64), s.ChangeTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(80), s.Values.Length);
        return b;
    }

    private static byte[] SemInfo(IpcNamespace ns, bool usage)
    {
        var b = new byte[40];
        int[] v = [1024000000, IpcNamespace.MaxObjects, 1024000000, 1024000000, SemaphoreSet.MaxSemaphores, SEMOPM, SEMOPM, 20,
            SemaphoreSet.MaxValue, SemaphoreSet.MaxValue];
        if (usage)
        {
            v[7] = ns.Semaphores.Count;
            v[9] = ns.Semaphores.All.Sum(s => s.Values.Length);
        }
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(i * 4), v[i]);
        return b;
    }

    /// <summary>
    /// semctl(2): IPC_STAT/SEM_STAT/SEM_STAT_ANY, IPC_SET, IPC_RMID (owner, creator or
    /// CAP_SYS_ADMIN; waiters get EIDRM), IPC_INFO/SEM_INFO, GETVAL/SETVAL (ERANGE outside
    /// 0..SEMVMX), GETALL/SETALL, GETPID, GETNCNT, GETZCNT. EINVAL for an unknown set, command or
    /// semaphore number; EACCES without permission.
    /// </summary>
    private static long Semctl(Task t, in SyscallArguments a)
    {
        int semid = (int)a.A0, semnum = (int)a.A1, cmd = (int)a.A2;
        ulong arg = a.A3;
        var ns = t.Kernel.Ipc;
        var c = t.Credentials;
        if (cmd is IPC_INFO or SEM_INFO)
        {
            byte[] info;
            int highest;
            lock (ns.Lock)
            {
                info = SemInfo(ns, cmd == SEM_INFO);
                highest = Math.Max(ns.Semaphores.HighestIndex, 0);
            }
            return t.Memory.CopyOut(arg, info) != 0 ? -Errno.EFAULT : highest;
        }
        if (semid < 0) return -Errno.EINVAL;
        byte[]? outBytes = null;
        long ret = 0;
        lock (ns.Lock)
        {
            var set = cmd is SEM_STAT or SEM_STAT_ANY ? ns.Semaphores.ByIndex(semid) : ns.Semaphores.ById(semid);
            if (set == null) return -Errno.EINVAL;
            bool Read() => set.Perm.Allows(c, 0x124);
            bool Write() => set.Perm.Allows(c, 0x92);
            bool NumberOk() => semnum >= 0 && semnum < set.Values.Length;
            switch (cmd)
            {
                case IPC_STAT:
                case SEM_STAT:
                case SEM_STAT_ANY:
                    if (cmd != SEM_STAT_ANY && !Read()) return -Errno.EACCES;
                    outBytes = SemidDs(set);
                    ret = cmd == IPC_STAT ? 0 : set.Id;
                    break;
                case IPC_SET:
                    {
                        var b = new byte[IpcPermissions.Size];
                        if (t.Memory.CopyIn(arg, b) != 0) return -Errno.EFAULT;
                        if (!set.Perm.IsOwner(c)) return -Errno.EPERM;
                        set.Perm.Uid = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4));
                        set.Perm.Gid = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
                        set.Perm.Mode = (set.Perm.Mode & ~0x1ffu) | (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)) & 0x1ff);
                        set.ChangeTime = Now();
                        return 0;
                    }
                case IPC_RMID:
                    if (!set.Perm.IsOwner(c)) return -Errno.EPERM;
                    set.Removed = true;
                    ns.Semaphores.Remove(set);
                    set.Queue.Notify();
                    return 0;
                case GETVAL:
                case GETPID:
                case GETNCNT:
                case GETZCNT:
                    if (!NumberOk()) return -Errno.EINVAL;
                    if (!Read()) return -Errno.EACCES;
                    return cmd switch
                    {
                        GETVAL => set.Values[semnum],
                        GETPID => set.Pids[semnum],
                        GETNCNT => set.WaitingForIncrease[semnum],
                        _ => set.WaitingForZero[semnum],
                    };
                case GETALL:
                    if (!Read()) return -Errno.EACCES;
                    outBytes = new byte[set.Values.Length * 2];
                    for (int i = 0; i < set.Values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(outBytes.AsSpan(i * 2), (ushort)set.Values[i]);
                    break;
                case SETVAL:
                    {
                        int val = (int)arg;
                        if (val < 0 || val > SemaphoreSet.MaxValue) return -Errno.ERANGE;
                        if (!NumberOk()) return -Errno.EINVAL;
                        if (!Write()) return -Errno.EACCES;
                        set.Values[semnum] = val;
                        set.Pids[semnum] = t.Pid;
                        set.ClearUndo(semnum);
                        set.ChangeTime = Now();
                        set.Queue.Notify();
                        return 0;
                    }
                case SETALL:
                    {
                        var b = new byte[set.Values.Length * 2];
                        if (t.Memory.CopyIn(arg, b) != 0) return -Errno.EFAULT;
                        var vals = new int[set.Values.Length];
                        for (int i = 0; i < vals.Length; i++)
                        {
                            vals[i] = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i * 2));
                            if (vals[i] > SemaphoreSet.MaxValue) return -Errno.ERANGE;
                        }
                        if (!Write()) return -Errno.EACCES;
                        vals.CopyTo(set.Values, 0);
                        Array.Fill(set.Pids, t.Pid);
                        set.ClearUndo(null);
                        set.ChangeTime = Now();
                        set.Queue.Notify();
                        return 0;
                    }
                default:
                    return -Errno.EINVAL;
            }
        }
        if (outBytes != null && t.Memory.CopyOut(arg, outBytes) != 0) return -Errno.EFAULT;
        return ret;
    }

    // ---- message queues ----------------------------------------------------------------------

    /// <summary>msgget(2): ENOENT, EEXIST, EACCES, ENOSPC as for every *get.</summary>
    private static long Msgget(Task t, in SyscallArguments a)
    {
        int key = (int)a.A0, flags = (int)a.A1;
        var ns = t.Kernel.Ipc;
        lock (ns.Lock)
        {
            int err = ns.GetLocked(ns.MessageQueues, t, key, flags, () => 0, (id, perm) => new MessageQueue(id, perm), _ => 0, out var q);
            return err != 0 ? err : q!.Id;
        }
    }

    /// <summary>
    /// msgsnd(2): EINVAL for a size outside 0..MSGMAX, a negative id or mtype &lt; 1; EFAULT;
    /// EINVAL for an unknown queue; EACCES without write permission. A full queue blocks (EAGAIN
    /// with IPC_NOWAIT, EIDRM when removed, EINTR on a signal).
    /// </summary>
    private static long Msgsnd(Task t, in SyscallArguments a)
    {
        int msqid = (int)a.A0, flags = (int)a.A3;
        long size = (long)a.A2;
        if (size > MessageQueue.MaxMessageSize || size < 0 || msqid < 0) return -Errno.EINVAL;
        if (t.Memory.CopyInStruct(a.A1, out long type) != 0) return -Errno.EFAULT;
        if (type < 1) return -Errno.EINVAL;
        var text = new byte[size];
        if (size > 0 && t.Memory.CopyIn(a.A1 + 8, text) != 0) return -Errno.EFAULT;
        var ns = t.Kernel.Ipc;
        MessageQueue q;
        lock (ns.Lock)
        {
            var found = ns.MessageQueues.ById(msqid);
            if (found == null) return -Errno.EINVAL;
            if (!found.Perm.Allows(t.Credentials, 0x92)) return -Errno.EACCES;
            q = found;
        }
        int result = 0;
        bool Ready()
        {
            lock (ns.Lock)
            {
                if (q.Removed) { result = -Errno.EIDRM; return true; }
                if (q.HasRoomFor(text.Length))
                {
                    q.Send(new IpcMessage(type, text), t.Pid);
                    return true;
                }
                if ((flags & MessageQueue.IPC_NOWAIT) != 0) { result = -Errno.EAGAIN; return true; }
                return false;
            }
        }
        var br = t.Block(Ready, q.Queue);
        return br == BlockResult.Ready ? result : -Errno.ERESTARTNOHAND;
    }

    /// <summary>
    /// msgrcv(2): EINVAL for a negative id or size; MSG_COPY gives ENOSYS. The message chosen by
    /// msgtyp (see <see cref="MessageQueue.Find"/>) is copied out (mtype then the text); a larger
    /// one gives E2BIG unless MSG_NOERROR truncates it. No message: ENOMSG with IPC_NOWAIT, else
    /// wait (EIDRM when removed, EINTR on a signal). EACCES without read permission.
    /// </summary>
    private static long Msgrcv(Task t, in SyscallArguments a)
    {
        int msqid = (int)a.A0, flags = (int)a.A4;
        long size = (long)a.A2, type = (long)a.A3;
        if (msqid < 0 || size < 0) return -Errno.EINVAL;
        if ((flags & MessageQueue.MSG_COPY) != 0) return -Errno.ENOSYS;
        var ns = t.Kernel.Ipc;
        MessageQueue q;
        lock (ns.Lock)
        {
            var found = ns.MessageQueues.ById(msqid);
            if (found == null) return -Errno.EINVAL;
            if (!found.Perm.Allows(t.Credentials, 0x124)) return -Errno.EACCES;
            q = found;
        }
        int result = 0;
        IpcMessage? got = null;
        bool Ready()
        {
            lock (ns.Lock)
            {
                if (q.Removed) { result = -Errno.EIDRM; return true; }
                int i = q.Find(type, flags);
                if (i >= 0)
                {
                    if (q.Messages[i].Text.Length > size && (flags & MessageQueue.MSG_NOERROR) == 0) { result = -Errno.E2BIG; return true; }
                    got = q.Take(i, t.Pid);
                    return true;
                }
                if ((flags & MessageQueue.IPC_NOWAIT) != 0) { result = -Errno.ENOMSG; return true; }
                return false;
            }
        }
        var br = t.Block(Ready, q.Queue);
        if (br != BlockResult.Ready) return -Errno.ERESTARTNOHAND;
        if (got == null) return result;
        int n = (int)Math.Min(size, got.Text.Length);
        if (t.Memory.CopyOutStruct(a.A1, got.Type) != 0 || (n > 0 && t.Memory.CopyOut(a.A1 + 8, got.Text.AsSpan(0, n)) != 0)) return -Errno.EFAULT;
        return n;
    }

    private static byte[] MsqidDs(MessageQueue q)
    {
        var b = new byte[120];
        q.Perm.Write(b);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(48), q.SendTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(56), q.ReceiveTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(64), q.ChangeTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(72), q.Bytes);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(80), q.Messages.Count);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(88), q.MaxBytes);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(96), q.LastSender);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(100), q.LastReceiver);
        return b;
    }

    /// <summary>
    /// msgctl(2): IPC_STAT/MSG_STAT/MSG_STAT_ANY, IPC_SET (owner; raising msg_qbytes past MSGMNB
    /// needs CAP_SYS_RESOURCE), IPC_RMID (waiters get EIDRM), IPC_INFO/MSG_INFO. EINVAL for an
    /// unknown queue or command.
    /// </summary>
    private static long Msgctl(Task t, in SyscallArguments a)
    {
        int msqid = (int)a.A0, cmd = (int)a.A1;
        ulong buf = a.A2;
        var ns = t.Kernel.Ipc;
        var c = t.Credentials;
        if (cmd is IPC_INFO or MSG_INFO)
        {
            var b = new byte[32];
            int highest;
            lock (ns.Lock)
            {
                int[] v = [4096, MessageQueue.DefaultMaxBytes, MessageQueue.MaxMessageSize, MessageQueue.DefaultMaxBytes, MSGMNI, 16, 16384, 16];
                if (cmd == MSG_INFO)
                {
                    v[0] = ns.MessageQueues.Count;
                    v[5] = ns.MessageQueues.All.Sum(q => q.Messages.Count);
                    v[6] = (int)ns.MessageQueues.All.Sum(q => q.Bytes);
                }
                for (int i = 0; i < 7; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(i * 4), v[i]);
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(28), (ushort)v[7]);
                highest = Math.Max(ns.MessageQueues.HighestIndex, 0);
            }
            return t.Memory.CopyOut(buf, b) != 0 ? -Errno.EFAULT : highest;
        }
        if (msqid < 0) return -Errno.EINVAL;
        byte[] stat;
        long ret;
        lock (ns.Lock)
        {
            var q = cmd is MSG_STAT or MSG_STAT_ANY ? ns.MessageQueues.ByIndex(msqid) : ns.MessageQueues.ById(msqid);
            if (q == null) return -Errno.EINVAL;
            switch (cmd)
            {
                case IPC_STAT:
                case MSG_STAT:
                case MSG_STAT_ANY:
                    if (cmd != MSG_STAT_ANY && !q.Perm.Allows(c, 0x124)) return -Errno.EACCES;
                    stat = MsqidDs(q);
                    ret = cmd == IPC_STAT ? 0 : q.Id;
                    break;
                case IPC_SET:
                    {
                        var b = new byte[120];
                        if (t.Memory.CopyIn(buf, b) != 0) return -Errno.EFAULT;
                        if (!q.Perm.IsOwner(c)) return -Errno.EPERM;
                        long qbytes = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(88));
                        if (qbytes > MessageQueue.DefaultMaxBytes && qbytes > q.MaxBytes && !c.HasCapability(CAP_SYS_RESOURCE)) return -Errno.EPERM;
                        q.MaxBytes = qbytes;
                        q.Perm.Uid = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4));
                        q.Perm.Gid = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
                        q.Perm.Mode = (q.Perm.Mode & ~0x1ffu) | (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)) & 0x1ff);
                        q.ChangeTime = Now();
                        q.Queue.Notify();
                        return 0;
                    }
                case IPC_RMID:
                    if (!q.Perm.IsOwner(c)) return -Errno.EPERM;
                    q.Removed = true;
                    ns.MessageQueues.Remove(q);
                    q.Queue.Notify();
                    return 0;
                default:
                    return -Errno.EINVAL;
            }
        }
        return t.Memory.CopyOut(buf, stat) != 0 ? -Errno.EFAULT : ret;
    }

    // ---- shared memory ------------------------------------------------------------------------

    private const long SHMMIN = 1, SHMMAX = 0x7fffffffffffffffL - (1L << 24);
    private const int SHM_RDONLY = 0x1000, SHM_RND = 0x2000, SHM_REMAP = 0x4000, SHM_EXEC = 0x8000, SHM_HUGETLB = 0x800;
    private const int SHM_LOCK = 11, SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15;

    /// <summary>
    /// shmget(2): a new segment needs SHMMIN..SHMMAX bytes (EINVAL); an existing one EINVAL when
    /// asked for more than its size; SHM_HUGETLB is refused (EINVAL); ENOENT, EEXIST, EACCES,
    /// ENOSPC as for every *get. The pages are a fresh memfd, zero-filled.
    /// </summary>
    private static long Shmget(Task t, in SyscallArguments a)
    {
        int key = (int)a.A0, flags = (int)a.A2;
        long size = (long)a.A1;
        if ((flags & SHM_HUGETLB) != 0) return -Errno.EINVAL;
        var ns = t.Kernel.Ipc;
        lock (ns.Lock)
        {
            int err = ns.GetLocked(ns.SharedMemory, t, key, flags,
                () => size < SHMMIN || size > SHMMAX ? -Errno.EINVAL : 0,
                (id, perm) =>
                {
                    var file = MemfdFileSystem.Create(t, $"SYSV{key:x8}");
                    file.Truncate(t, (long)AddressSpace.PageUp((ulong)size));
                    return new SharedMemorySegment(id, perm, size, file, t.Pid);
                },
                seg => size > seg.Size ? -Errno.EINVAL : 0,
                out var segment);
            return err != 0 ? err : segment!.Id;
        }
    }

    /// <summary>
    /// shmat(2): maps the segment MAP_SHARED at a host-chosen address, or at shmaddr (rounded
    /// down to SHMLBA with SHM_RND, else EINVAL when unaligned; EINVAL if it overlaps a mapping
    /// unless SHM_REMAP). Read-only with SHM_RDONLY. EINVAL for an unknown id, EACCES without
    /// permission. Returns the address.
    /// </summary>
    private static long Shmat(Task t, in SyscallArguments a)
    {
        int shmid = (int)a.A0, flags = (int)a.A2;
        ulong addr = a.A1;
        if (shmid < 0) return -Errno.EINVAL;
        if ((addr & (AddressSpace.PageSize - 1)) != 0)
        {
            if ((flags & SHM_RND) == 0) return -Errno.EINVAL;
            addr &= ~(AddressSpace.PageSize - 1);
        }
        if (addr == 0 && (flags & SHM_REMAP) != 0) return -Errno.EINVAL;
        var mm = t.AddressSpace;
        if (mm == null) return -Errno.EINVAL;
        var ns = t.Kernel.Ipc;
        SharedMemorySegment seg;
        bool readOnly = (flags & SHM_RDONLY) != 0;
        lock (ns.Lock)
        {
            var found = ns.SharedMemory.ById(shmid);
            if (found == null) return -Errno.EINVAL;
            if (!found.Perm.Allows(t.Credentials, readOnly ? 0x124 : 0x1b6)) return -Errno.EACCES;
            seg = found;
            seg.File.IncRef();
        }
        try
        {
            const int MAP_SHARED = 1, MAP_FIXED = 0x10, MAP_FIXED_NOREPLACE = 0x100000;
            int prot = 1 | (readOnly ? 0 : 2) | ((flags & SHM_EXEC) != 0 ? 4 : 0);
            int mapFlags = MAP_SHARED | (addr == 0 ? 0 : (flags & SHM_REMAP) != 0 ? MAP_FIXED : MAP_FIXED_NOREPLACE);
            long r = mm.Map(t, addr, (ulong)seg.Size, prot, mapFlags, seg.File, 0, seg.MapName);
            if (r == -Errno.EEXIST) return -Errno.EINVAL;
            if (r < 0) return r;
            lock (ns.Lock) seg.Attach(mm, (ulong)r, t.Pid);
            return r;
        }
        finally
        {
            seg.File.DecRef();
        }
    }

    /// <summary>shmdt(2): unmaps the segment attached at shmaddr; EINVAL when none starts there.</summary>
    private static long Shmdt(Task t, in SyscallArguments a)
    {
        ulong addr = a.A0;
        var mm = t.AddressSpace;
        if (mm == null || (addr & (AddressSpace.PageSize - 1)) != 0) return -Errno.EINVAL;
        var live = t.Kernel.LiveAddressSpaces();
        var ns = t.Kernel.Ipc;
        SharedMemorySegment? seg;
        lock (ns.Lock) seg = ns.SharedMemory.All.FirstOrDefault(s => s.IsAttachedAt(mm, addr));
        ulong length;
        if (seg != null) length = AddressSpace.PageUp((ulong)seg.Size);
        else
        {
            // An attachment this address space inherited through fork: found by its mapping's name.
            var vma = mm.Vmas.FirstOrDefault(v => v.Start == addr && v.Name != null && v.Name.StartsWith("/SYSV", StringComparison.Ordinal));
            if (vma == null) return -Errno.EINVAL;
            length = vma.End - vma.Start;
        }
        int err = mm.Unmap(addr, length);
        if (err != 0) return err;
        if (seg != null)
        {
            lock (ns.Lock)
            {
                seg.Detach(mm, addr, t.Pid);
                ns.ReapSegmentLocked(seg, live);
            }
        }
        return 0;
    }

    private static byte[] ShmidDs(SharedMemorySegment s, int nattch)
    {
        var b = new byte[112];
        s.Perm.Write(b);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(48), s.Size);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(56), s.AttachTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(64), s.DetachTime);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(72), s.ChangeTime);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(80), s.CreatorPid);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(84), s.LastPid);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(88), nattch);
        return b;
    }

    /// <summary>
    /// shmctl(2): IPC_STAT/SHM_STAT/SHM_STAT_ANY, IPC_SET and IPC_RMID (owner, creator or
    /// CAP_SYS_ADMIN; a removed segment lives on, with key IPC_PRIVATE and SHM_DEST in its mode,
    /// until its last detach), SHM_LOCK/SHM_UNLOCK, IPC_INFO/SHM_INFO. EINVAL for an unknown
    /// segment or command.
    /// </summary>
    private static long Shmctl(Task t, in SyscallArguments a)
    {
        int shmid = (int)a.A0, cmd = (int)a.A1;
        ulong buf = a.A2;
        var ns = t.Kernel.Ipc;
        var c = t.Credentials;
        var live = t.Kernel.LiveAddressSpaces();
        if (cmd is IPC_INFO or SHM_INFO)
        {
            byte[] info;
            int highest;
            lock (ns.Lock)
            {
                highest = Math.Max(ns.SharedMemory.HighestIndex, 0);
                if (cmd == IPC_INFO)
                {
                    info = new byte[72];
                    long[] v = [SHMMAX, SHMMIN, IpcNamespace.MaxSharedMemorySegments, IpcNamespace.MaxSharedMemorySegments, SHMMAX >> 12];
                    for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(info.AsSpan(i * 8), v[i]);
                }
                else
                {
                    info = new byte[48];
                    BinaryPrimitives.WriteInt32LittleEndian(info, ns.SharedMemory.Count);
                    long pages = ns.SharedMemory.All.Sum(s => (long)(AddressSpace.PageUp((ulong)s.Size) / AddressSpace.PageSize));
                    BinaryPrimitives.WriteInt64LittleEndian(info.AsSpan(8), pages);
                    BinaryPrimitives.WriteInt64LittleEndian(info.AsSpan(16), pages);
                }
            }
            return t.Memory.CopyOut(buf, info) != 0 ? -Errno.EFAULT : highest;
        }
        if (shmid < 0) return -Errno.EINVAL;
        byte[] stat;
        long ret;
        lock (ns.Lock)
        {
            var seg = cmd is SHM_STAT or SHM_STAT_ANY ? ns.SharedMemory.ByIndex(shmid) : ns.SharedMemory.ById(shmid);
            if (seg == null) return -Errno.EINVAL;
            switch (cmd)
            {
                case IPC_STAT:
                case SHM_STAT:
                case SHM_STAT_ANY:
                    if (cmd != SHM_STAT_ANY && !seg.Perm.Allows(c, 0x124)) return -Errno.EACCES;
                    stat = ShmidDs(seg, seg.Attachments(live));
                    ret = cmd == IPC_STAT ? 0 : seg.Id;
                    break;
                case IPC_SET:
                    {
                        var b = new byte[IpcPermissions.Size];
                        if (t.Memory.CopyIn(buf, b) != 0) return -Errno.EFAULT;
                        if (!seg.Perm.IsOwner(c)) return -Errno.EPERM;
                        seg.Perm.Uid = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4));
                        seg.Perm.Gid = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
                        seg.Perm.Mode = (seg.Perm.Mode & ~0x1ffu) | (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)) & 0x1ff);
                        seg.ChangeTime = Now();
                        return 0;
                    }
                case IPC_RMID:
                    if (!seg.Perm.IsOwner(c)) return -Errno.EPERM;
                    seg.MarkDestroyed();
                    seg.ChangeTime = Now();
                    ns.ReapSegmentLocked(seg, live);
                    return 0;
                case SHM_LOCK:
                case SHM_UNLOCK:
                    if (!seg.Perm.IsOwner(c) && !c.HasCapability(14 /* CAP_IPC_LOCK */)) return -Errno.EPERM;
                    seg.Perm.Mode = cmd == SHM_LOCK ? seg.Perm.Mode | SharedMemorySegment.SHM_LOCKED : seg.Perm.Mode & ~SharedMemorySegment.SHM_LOCKED;
                    return 0;
                default:
                    return -Errno.EINVAL;
            }
        }
        return t.Memory.CopyOut(buf, stat) != 0 ? -Errno.EFAULT : ret;
    }
}
