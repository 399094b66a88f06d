using System.Buffers.Binary;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Kernel.Ipc;

/// <summary>The ipc_perm of one System V IPC object: key, owner, creator and mode.</summary>
internal sealed class IpcPermissions
{
    /// <summary>The key it was created with (IPC_PRIVATE = 0).</summary>
    public int Key { get; init; }

    /// <summary>Owner and group (IPC_SET changes them).</summary>
    public uint Uid { get; set; }

    /// <summary>Owner group.</summary>
    public uint Gid { get; set; }

    /// <summary>Creator.</summary>
    public uint Cuid { get; init; }

    /// <summary>Creator group.</summary>
    public uint Cgid { get; init; }

    /// <summary>The 9 permission bits (plus SHM_* state bits for shared memory).</summary>
    public uint Mode { get; set; }

    /// <summary>The sequence number in the ID.</summary>
    public ushort Seq { get; init; }

    /// <summary>Size of struct ipc64_perm.</summary>
    public const int Size = 48;

    /// <summary>Writes struct ipc64_perm (x86-64) at the start of <paramref name="b"/>.</summary>
    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteInt32LittleEndian(b, Key);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Cuid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], Cgid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], Mode);
        BinaryPrimitives.WriteUInt16LittleEndian(b[24..], Seq);
    }

    /// <summary>ipcperms(): may <paramref name="c"/> access with the rwx bits in <paramref name="flag"/>? (CAP_IPC_OWNER overrides.)</summary>
    public bool Allows(Credentials c, int flag)
    {
        const int CAP_IPC_OWNER = 15;
        int requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
        uint granted = Mode;
        if (c.Euid == Cuid || c.Euid == Uid) granted >>= 6;
        else if (c.InGroup(Cgid) || c.InGroup(Gid)) granted >>= 3;
        return (requested & ~granted & 7) == 0 || c.HasCapability(CAP_IPC_OWNER);
    }

    /// <summary>Owner or creator, or CAP_SYS_ADMIN (IPC_SET, IPC_RMID).</summary>
    public bool IsOwner(Credentials c) => c.Euid == Uid || c.Euid == Cuid || c.HasCapability(21);
}

/// <summary>An IPC object with its permissions and ID.</summary>
internal interface IIpcObject
{
    /// <summary>Key, owner, mode.</summary>
    IpcPermissions Perm { get; }

    /// <summary>The ID the application uses.</summary>
    int Id { get; }
}

/// <summary>
/// The objects of one kind (semaphore sets or message queues) in an IPC namespace: by key and
/// by ID. IDs are seq * 32768 + index, indexes handed out cyclically and the sequence bumped
/// on wrap, as Linux's ipc_idr_alloc does.
/// </summary>
internal sealed class IpcRegistry<T> where T : class, IIpcObject
{
    /// <summary>IDs are sequence * this + index.</summary>
    public const int SeqMultiplier = 32768;

    /// <summary>The largest sequence number (IDs stay below int.MaxValue).</summary>
    public const int MaxSeq = int.MaxValue / SeqMultiplier;

    private readonly Dictionary<int, T> _byIndex = new();
    private readonly int _max;
    private int _nextIndex;
    private int _lastIndex = -1;
    private ushort _seq;

    /// <summary>A registry holding at most <paramref name="max"/> objects (SEMMNI, MSGMNI).</summary>
    public IpcRegistry(int max) => _max = max;

    /// <summary>How many objects exist.</summary>
    public int Count => _byIndex.Count;

    /// <summary>The highest index in use, or -1 (IPC_INFO's return value).</summary>
    public int HighestIndex => _byIndex.Count == 0 ? -1 : _byIndex.Keys.Max();

    /// <summary>Every object.</summary>
    public IEnumerable<T> All => _byIndex.Values;

    /// <summary>The object with <paramref name="key"/> (not IPC_PRIVATE), or null.</summary>
    public T? ByKey(int key) => key == 0 ? null : _byIndex.Values.FirstOrDefault(o => o.Perm.Key == key);

    /// <summary>The object with ID <paramref name="id"/> (index and sequence must match), or null.</summary>
    public T? ById(int id)
    {
        if (id < 0) return null;
        return _byIndex.TryGetValue(id % SeqMultiplier, out var o) && o.Id == id ? o : null;
    }

    /// <summary>The object at index <paramref name="index"/> (SEM_STAT/MSG_STAT), or null.</summary>
    public T? ByIndex(int index) => _byIndex.TryGetValue(index, out var o) ? o : null;

    /// <summary>Allocates an index and sequence for a new object; false (ENOSPC) when full.</summary>
    public bool Allocate(out int id, out ushort seq)
    {
        id = -1;
        seq = 0;
        if (_byIndex.Count >= _max) return false;
        int idx = _nextIndex;
        while (_byIndex.ContainsKey(idx)) idx = (idx + 1) % _max;
        _nextIndex = (idx + 1) % _max;
        if (idx <= _lastIndex) _seq = (ushort)((_seq + 1) % (int.MaxValue / SeqMultiplier));
        _lastIndex = idx;
        seq = _seq;
        id = seq * SeqMultiplier + idx;
        return true;
    }

    /// <summary>Adds an object allocated with <see cref="Allocate"/>.</summary>
    public void Add(T o) => _byIndex[o.Id % SeqMultiplier] = o;

    /// <summary>Removes an object (IPC_RMID).</summary>
    public void Remove(T o) => _byIndex.Remove(o.Id % SeqMultiplier);

    /// <summary>Most objects this registry holds (SEMMNI, MSGMNI, SHMMNI).</summary>
    public int Max => _max;

    /// <summary>Where allocation goes on (next index, last index, sequence), which a checkpoint saves.</summary>
    public (int Next, int Last, int Seq) Cursor => (_nextIndex, _lastIndex, _seq);

    /// <summary>Restore: puts the allocation cursor back; false when out of range.</summary>
    public bool RestoreCursor(int next, int last, int seq)
    {
        if (next < 0 || next >= _max || last < -1 || last >= _max || seq < 0 || seq >= MaxSeq) return false;
        (_nextIndex, _lastIndex, _seq) = (next, last, (ushort)seq);
        return true;
    }

    /// <summary>True if <paramref name="id"/> is one this registry could have handed out and its index is free (restore).</summary>
    public bool CanRestore(int id) => id >= 0 && id % SeqMultiplier < _max && id / SeqMultiplier < MaxSeq && !_byIndex.ContainsKey(id % SeqMultiplier);
}

/// <summary>
/// The sandbox's System V IPC namespace: semaphore sets and message queues. One lock guards
/// every object in it (<see cref="Lock"/>); blocked callers wait on each object's queue.
/// </summary>
internal sealed class IpcNamespace
{
    /// <summary>SEMMNI, MSGMNI.</summary>
    public const int MaxObjects = 32000;

    /// <summary>Guards every object of the namespace.</summary>
    public object Lock { get; } = new();

    /// <summary>Semaphore sets.</summary>
    public IpcRegistry<SemaphoreSet> Semaphores { get; } = new(MaxObjects);

    /// <summary>Message queues.</summary>
    public IpcRegistry<MessageQueue> MessageQueues { get; } = new(MaxObjects);

    /// <summary>SHMMNI.</summary>
    public const int MaxSharedMemorySegments = 4096;

    /// <summary>Shared memory segments.</summary>
    public IpcRegistry<SharedMemorySegment> SharedMemory { get; } = new(MaxSharedMemorySegments);

    /// <summary>
    /// Drops a segment that IPC_RMID marked once nothing has it attached (<paramref name="live"/>:
    /// the address spaces of running processes). Caller holds <see cref="Lock"/>.
    /// </summary>
    public void ReapSegmentLocked(SharedMemorySegment seg, ISet<AddressSpace> live)
    {
        if (!seg.Destroyed || seg.Attachments(live) > 0 || SharedMemory.ById(seg.Id) != seg) return;
        SharedMemory.Remove(seg);
        seg.File.DecRef();
    }

    /// <summary>
    /// The *get lookup: IPC_PRIVATE or an unknown key with IPC_CREAT makes a new object
    /// (<paramref name="validateNew"/> first, then ENOSPC when full; ENOENT without IPC_CREAT);
    /// an existing key is EEXIST with IPC_CREAT|IPC_EXCL, else <paramref name="check"/>, then
    /// EACCES without the requested permission. Caller holds <see cref="Lock"/>.
    /// </summary>
    public int GetLocked<T>(IpcRegistry<T> registry, Task t, int key, int flags, Func<int> validateNew,
        Func<int, IpcPermissions, T> create, Func<T, int> check, out T? result)
        where T : class, IIpcObject
    {
        const int IPC_CREAT = 0x200, IPC_EXCL = 0x400;
        result = registry.ByKey(key);
        if (result == null)
        {
            if (key != 0 && (flags & IPC_CREAT) == 0) return -Errno.ENOENT;
            int err = validateNew();
            if (err != 0) return err;
            if (!registry.Allocate(out int id, out ushort seq)) return -Errno.ENOSPC;
            var c = t.Credentials;
            var perm = new IpcPermissions { Key = key, Uid = c.Euid, Gid = c.Egid, Cuid = c.Euid, Cgid = c.Egid, Mode = (uint)flags & 0x1ff, Seq = seq };
            result = create(id, perm);
            registry.Add(result);
            return 0;
        }
        if ((flags & IPC_CREAT) != 0 && (flags & IPC_EXCL) != 0) return -Errno.EEXIST;
        int r = check(result);
        if (r != 0) return r;
        if (!result.Perm.Allows(t.Credentials, flags)) return -Errno.EACCES;
        return 0;
    }
}
