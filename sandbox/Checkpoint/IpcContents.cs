using System.Buffers.Binary;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Kernel.Ipc;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Tmpfs;
using RunscNet.StateFile.Checkpoint;
using Task = RunscNet.Sentry.Kernel.Task;

namespace RunscNet.Sentry.Checkpoint;

/// <summary>
/// The System V IPC namespace across a checkpoint: semaphore sets (values, last pids, times,
/// each process's SEM_UNDO adjustments), message queues (messages in order, limit, times, last
/// pids) and shared memory segments (their non-zero pages; attachments are saved with the
/// address spaces as VMAs naming the segment). Every object keeps its ID, since programs hold
/// IDs, and the registries their allocation cursor. The image is hostile: every ID, count,
/// length, value, pid and page index is checked before use.
/// </summary>
internal static class IpcContents
{
    /// <summary>Most messages a restored queue may hold (msgsnd's own bound is one per byte of msg_qbytes).</summary>
    private const int MaxMessages = 1 << 16;

    /// <summary>The namespace as the image keeps it, segment pages added to <paramref name="writer"/>; null when it is empty.</summary>
    public static IpcImage? Save(Kernel.Kernel kernel, Task reader, ImageWriter writer, out Dictionary<SharedMemorySegment, int> segmentIndex)
    {
        var ns = kernel.Ipc;
        segmentIndex = new Dictionary<SharedMemorySegment, int>(ReferenceEqualityComparer.Instance);
        SemaphoreSet[] sets;
        MessageQueue[] queues;
        SharedMemorySegment[] segments;
        var image = new IpcImage();
        lock (ns.Lock)
        {
            sets = ns.Semaphores.All.OrderBy(s => s.Id).ToArray();
            queues = ns.MessageQueues.All.OrderBy(q => q.Id).ToArray();
            segments = ns.SharedMemory.All.OrderBy(s => s.Id).ToArray();
            if (sets.Length + queues.Length + segments.Length == 0 && ns.Semaphores.Cursor == (0, -1, 0)
                && ns.MessageQueues.Cursor == (0, -1, 0) && ns.SharedMemory.Cursor == (0, -1, 0)) return null;
            var cursors = new byte[36];
            int at = 0;
            foreach (var (next, last, seq) in new[] { ns.Semaphores.Cursor, ns.MessageQueues.Cursor, ns.SharedMemory.Cursor })
            {
                BinaryPrimitives.WriteInt32LittleEndian(cursors.AsSpan(at), next);
                BinaryPrimitives.WriteInt32LittleEndian(cursors.AsSpan(at + 4), last);
                BinaryPrimitives.WriteInt32LittleEndian(cursors.AsSpan(at + 8), seq);
                at += 12;
            }
            image.Cursors = cursors;
            foreach (var s in sets)
            {
                var set = new SemaphoreSetImage
                {
                    Perm = PermOf(s.Id, s.Perm), Values = Pack(s.Values), Pids = Pack(s.Pids),
                    OperationTime = s.OperationTime, ChangeTime = s.ChangeTime,
                };
                foreach (var (process, adjustments) in s.UndoEntries())
                    if (!process.Zombie) set.Undo.Add(new SemaphoreUndoImage { Pid = process.Tgid, Adjustments = Pack(adjustments) });
                image.Semaphores.Add(set);
            }
            foreach (var q in queues)
            {
                var queue = new MessageQueueImage
                {
                    Perm = PermOf(q.Id, q.Perm), MaxBytes = q.MaxBytes, SendTime = q.SendTime, ReceiveTime = q.ReceiveTime,
                    ChangeTime = q.ChangeTime, LastSender = q.LastSender, LastReceiver = q.LastReceiver,
                };
                foreach (var m in q.Messages) queue.Messages.Add(new IpcMessageImage { Type = m.Type, Text = m.Text.ToArray() });
                image.MessageQueues.Add(queue);
            }
        }
        // Every task is stopped: the segments' pages do not change while they are read.
        var page = new byte[CheckpointImage.PageSize];
        foreach (var s in segments)
        {
            ulong pages = AddressSpace.PageUp((ulong)s.Size) / AddressSpace.PageSize;
            if (pages > uint.MaxValue) throw new CheckpointRefusedException($"checkpoint: SysV IPC shared memory segment {s.Id} is too large to be saved");
            var shm = new SharedMemoryImage
            {
                Perm = PermOf(s.Id, s.Perm), Size = s.Size, CreatorPid = s.CreatorPid, LastPid = s.LastPid,
                AttachTime = s.AttachTime, DetachTime = s.DetachTime, ChangeTime = s.ChangeTime, OriginalKey = s.OriginalKey,
                FirstPage = writer.PageCount,
            };
            var saved = new List<uint>();
            for (ulong i = 0; i < pages; i++)
            {
                Array.Clear(page);
                long n = s.File.PRead(reader, page, (long)(i * AddressSpace.PageSize));
                if (n < 0) throw new CheckpointRefusedException($"checkpoint: reading SysV IPC shared memory segment {s.Id} failed: errno {-n}");
                if (page.AsSpan().IndexOfAnyExcept((byte)0) < 0) continue;
                writer.AddPage(page);
                saved.Add((uint)i);
            }
            shm.SavedPages = new byte[saved.Count * 4];
            for (int i = 0; i < saved.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(shm.SavedPages.AsSpan(i * 4), saved[i]);
            segmentIndex[s] = image.SharedMemory.Count;
            image.SharedMemory.Add(shm);
        }
        return image;
    }

    private static IpcPermImage PermOf(int id, IpcPermissions p) =>
        new() { Id = id, Key = p.Key, Uid = p.Uid, Gid = p.Gid, Cuid = p.Cuid, Cgid = p.Cgid, Mode = p.Mode };

    private static byte[] Pack(int[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(i * 4), values[i]);
        return b;
    }

    private static int[] Unpack(byte[] b, int count, string what)
    {
        if (b.Length != count * 4) throw Fail($"{what} is malformed");
        var values = new int[count];
        for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(i * 4));
        return values;
    }

    private static InvalidOperationException Fail(string why) => new($"restore: SysV IPC {why}");

    /// <summary>
    /// Restore, before any process: rebuilds every object under its ID; returns the segments by
    /// their index in the image (VMAs name them). SEM_UNDO adjustments follow with
    /// <see cref="RestoreUndo"/> once the processes exist.
    /// </summary>
    public static List<SharedMemorySegment> Restore(Kernel.Kernel kernel, IpcImage image, ImageReader pages, Task writer)
    {
        var ns = kernel.Ipc;
        var segments = new List<SharedMemorySegment>();
        if (image.Semaphores.Count > ns.Semaphores.Max || image.MessageQueues.Count > ns.MessageQueues.Max || image.SharedMemory.Count > ns.SharedMemory.Max)
            throw Fail("objects are more than the namespace holds");
        lock (ns.Lock)
        {
            if (image.Cursors.Length != 36) throw Fail("allocation cursors are malformed");
            var cursors = Unpack(image.Cursors, 9, "allocation cursors");
            if (!ns.Semaphores.RestoreCursor(cursors[0], cursors[1], cursors[2]) || !ns.MessageQueues.RestoreCursor(cursors[3], cursors[4], cursors[5])
                || !ns.SharedMemory.RestoreCursor(cursors[6], cursors[7], cursors[8]))
                throw Fail("allocation cursors are out of range");
            foreach (var s in image.Semaphores)
            {
                var perm = Permissions(ns.Semaphores, s.Perm, "semaphore set", 0x1ff);
                int count = s.Values.Length / 4;
                if (count is < 1 or > SemaphoreSet.MaxSemaphores) throw Fail($"semaphore set {perm.Id}: {count} semaphores");
                var values = Unpack(s.Values, count, $"semaphore set {perm.Id}'s values");
                var pids = Unpack(s.Pids, count, $"semaphore set {perm.Id}'s pids");
                if (values.Any(v => v is < 0 or > SemaphoreSet.MaxValue)) throw Fail($"semaphore set {perm.Id} holds a value out of range");
                if (pids.Any(p => p is < 0 or >= Kernel.Kernel.PidMax)) throw Fail($"semaphore set {perm.Id} names an invalid pid");
                if (s.Undo.Count > PidNamespaceLimit) throw Fail($"semaphore set {perm.Id} has too many undo records");
                var set = new SemaphoreSet(perm.Id, perm.Perm, count) { OperationTime = s.OperationTime, ChangeTime = s.ChangeTime };
                values.CopyTo(set.Values, 0);
                pids.CopyTo(set.Pids, 0);
                ns.Semaphores.Add(set);
            }
            foreach (var q in image.MessageQueues)
            {
                var perm = Permissions(ns.MessageQueues, q.Perm, "message queue", 0x1ff);
                if (q.MaxBytes is < 0 or > int.MaxValue || q.Messages.Count > MaxMessages) throw Fail($"message queue {perm.Id} has an invalid size");
                if (q.LastSender is < 0 or >= Kernel.Kernel.PidMax || q.LastReceiver is < 0 or >= Kernel.Kernel.PidMax) throw Fail($"message queue {perm.Id} names an invalid pid");
                var queue = new MessageQueue(perm.Id, perm.Perm)
                {
                    MaxBytes = q.MaxBytes, SendTime = q.SendTime, ReceiveTime = q.ReceiveTime, ChangeTime = q.ChangeTime,
                    LastSender = q.LastSender, LastReceiver = q.LastReceiver,
                };
                long total = 0;
                foreach (var m in q.Messages)
                {
                    // msgsnd's rules: a positive type, at most MSGMAX bytes, the queue's limit in all.
                    if (m.Type <= 0 || m.Text.Length > MessageQueue.MaxMessageSize) throw Fail($"message queue {perm.Id} holds a malformed message");
                    total += m.Text.Length;
                    if (total > Math.Max(q.MaxBytes, MessageQueue.DefaultMaxBytes)) throw Fail($"message queue {perm.Id} holds more than its limit");
                    queue.RestoreMessage(new IpcMessage(m.Type, m.Text));
                }
                ns.MessageQueues.Add(queue);
            }
        }
        foreach (var s in image.SharedMemory)
        {
            IdAndPerm perm;
            lock (ns.Lock) perm = Permissions(ns.SharedMemory, s.Perm, "shared memory segment", 0x1ff | SharedMemorySegment.SHM_DEST | SharedMemorySegment.SHM_LOCKED);
            if (s.Size < 1 || s.Size > SharedMemoryMax) throw Fail($"shared memory segment {perm.Id} has an invalid size {s.Size}");
            if (s.CreatorPid is < 0 or >= Kernel.Kernel.PidMax || s.LastPid is < 0 or >= Kernel.Kernel.PidMax) throw Fail($"shared memory segment {perm.Id} names an invalid pid");
            bool destroyed = (perm.Perm.Mode & SharedMemorySegment.SHM_DEST) != 0;
            // A removed segment's key is private; its mappings' name keeps the key it was made with.
            if (destroyed ? perm.Perm.Key != 0 : s.OriginalKey != perm.Perm.Key) throw Fail($"shared memory segment {perm.Id} has inconsistent keys");
            ulong pageCount = AddressSpace.PageUp((ulong)s.Size) / AddressSpace.PageSize;
            if (s.SavedPages.Length % 4 != 0) throw Fail($"shared memory segment {perm.Id}: malformed page list");
            int saved = s.SavedPages.Length / 4;
            if (s.FirstPage < 0 || s.FirstPage > pages.PageCount - saved) throw Fail($"shared memory segment {perm.Id} refers to pages outside the image");
            var file = MemfdFileSystem.Create(writer, $"SYSV{s.OriginalKey:x8}");
            try
            {
                int err = file.Truncate(writer, (long)(pageCount * AddressSpace.PageSize));
                if (err < 0) throw Fail($"shared memory segment {perm.Id}: sizing it failed: errno {-err}");
                long prev = -1;
                for (int i = 0; i < saved; i++)
                {
                    uint at = BinaryPrimitives.ReadUInt32LittleEndian(s.SavedPages.AsSpan(i * 4));
                    if (at >= pageCount || at <= prev) throw Fail($"shared memory segment {perm.Id}: page {at} is out of order or outside it");
                    prev = at;
                    var data = pages.Page(s.FirstPage + i);
                    if (file.PWrite(writer, data, (long)at * CheckpointImage.PageSize) != CheckpointImage.PageSize)
                        throw Fail($"shared memory segment {perm.Id}: writing its pages failed");
                }
                var creator = new IpcPermissions { Key = s.OriginalKey, Uid = perm.Perm.Uid, Gid = perm.Perm.Gid, Cuid = perm.Perm.Cuid, Cgid = perm.Perm.Cgid, Mode = perm.Perm.Mode & ~SharedMemorySegment.SHM_DEST, Seq = perm.Perm.Seq };
                var segment = new SharedMemorySegment(perm.Id, creator, s.Size, file, s.CreatorPid)
                {
                    LastPid = s.LastPid, AttachTime = s.AttachTime, DetachTime = s.DetachTime, ChangeTime = s.ChangeTime,
                };
                if (destroyed) segment.MarkDestroyed();
                lock (ns.Lock)
                {
                    if (!ns.SharedMemory.CanRestore(perm.Id)) throw Fail($"shared memory segment {perm.Id} is given twice");
                    ns.SharedMemory.Add(segment);
                }
                segments.Add(segment);
            }
            catch
            {
                file.DecRef();
                throw;
            }
        }
        return segments;
    }

    /// <summary>shmget's SHMMAX.</summary>
    private const long SharedMemoryMax = 0x7fffffffffffffffL - (1L << 24);

    /// <summary>Undo records per set: one per process at most.</summary>
    private const int PidNamespaceLimit = 1 << 22;

    private readonly record struct IdAndPerm(int Id, IpcPermissions Perm);

    /// <summary>A saved ID and ipc_perm checked against <paramref name="registry"/> (caller holds the namespace's lock).</summary>
    private static IdAndPerm Permissions<T>(IpcRegistry<T> registry, IpcPermImage? p, string what, uint modeBits) where T : class, IIpcObject
    {
        if (p == null) throw Fail($"a {what} has no permissions record");
        if (!registry.CanRestore(p.Id)) throw Fail($"{what} id {p.Id} is invalid or given twice");
        if ((p.Mode & ~modeBits) != 0) throw Fail($"{what} {p.Id} has an invalid mode {p.Mode:x}");
        // Keys find objects: two with one key (not IPC_PRIVATE) would make one unreachable.
        if (p.Key != 0 && registry.ByKey(p.Key) != null) throw Fail($"{what} {p.Id}: key 0x{p.Key:x8} is given twice");
        return new IdAndPerm(p.Id, new IpcPermissions
        {
            Key = p.Key, Uid = p.Uid, Gid = p.Gid, Cuid = p.Cuid, Cgid = p.Cgid, Mode = p.Mode,
            Seq = (ushort)(p.Id / IpcRegistry<T>.SeqMultiplier),
        });
    }

    /// <summary>Restore, once every process exists: each set's SEM_UNDO adjustments go back to their process.</summary>
    public static void RestoreUndo(Kernel.Kernel kernel, IpcImage image)
    {
        var ns = kernel.Ipc;
        lock (ns.Lock)
        {
            foreach (var s in image.Semaphores)
            {
                var set = ns.Semaphores.ById(s.Perm!.Id)!;
                var seen = new HashSet<int>();
                foreach (var u in s.Undo)
                {
                    if (!seen.Add(u.Pid) || kernel.ThreadGroupByPid(u.Pid) is not { Zombie: false } process)
                        throw Fail($"semaphore set {set.Id}: undo adjustments of pid {u.Pid}, which is not a live process of the image (or given twice)");
                    var adjustments = Unpack(u.Adjustments, set.Values.Length, $"semaphore set {set.Id}'s undo adjustments of pid {u.Pid}");
                    if (adjustments.Any(a => a is < -SemaphoreSet.MaxValue - 1 or > SemaphoreSet.MaxValue))
                        throw Fail($"semaphore set {set.Id}: an undo adjustment of pid {u.Pid} is out of range");
                    set.RestoreUndo(process, adjustments);
                }
            }
        }
    }
}
