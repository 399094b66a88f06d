using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

/// <summary>
/// The System V IPC namespace (svipc(7)): semaphore sets, message queues and shared memory
/// segments with the IDs programs hold, and each registry's allocation cursor so new IDs go on
/// as they would have.
/// </summary>
[ProtoContract]
public sealed class IpcImage
{
    [ProtoMember(1)] public List<SemaphoreSetImage> Semaphores { get; set; } = new();
    [ProtoMember(2)] public List<MessageQueueImage> MessageQueues { get; set; } = new();
    [ProtoMember(3)] public List<SharedMemoryImage> SharedMemory { get; set; } = new();
    /// <summary>The registries' cursors (semaphores, message queues, shared memory): next index, last index, sequence; packed 3 × 3 i32.</summary>
    [ProtoMember(4)] public byte[] Cursors { get; set; } = Array.Empty<byte>();
}

/// <summary>struct ipc64_perm plus the object's ID.</summary>
[ProtoContract]
public sealed class IpcPermImage
{
    [ProtoMember(1)] public int Id { get; set; }
    [ProtoMember(2)] public int Key { get; set; }
    [ProtoMember(3)] public uint Uid { get; set; }
    [ProtoMember(4)] public uint Gid { get; set; }
    [ProtoMember(5)] public uint Cuid { get; set; }
    [ProtoMember(6)] public uint Cgid { get; set; }
    [ProtoMember(7)] public uint Mode { get; set; }
}

/// <summary>A semaphore set: values, last operating pids, times and each process's SEM_UNDO adjustments.</summary>
[ProtoContract]
public sealed class SemaphoreSetImage
{
    [ProtoMember(1)] public IpcPermImage? Perm { get; set; }
    /// <summary>semval of each semaphore, packed i32.</summary>
    [ProtoMember(2)] public byte[] Values { get; set; } = Array.Empty<byte>();
    /// <summary>sempid of each semaphore, packed i32.</summary>
    [ProtoMember(3)] public byte[] Pids { get; set; } = Array.Empty<byte>();
    [ProtoMember(4)] public long OperationTime { get; set; }
    [ProtoMember(5)] public long ChangeTime { get; set; }
    [ProtoMember(6)] public List<SemaphoreUndoImage> Undo { get; set; } = new();
}

/// <summary>One process's SEM_UNDO adjustments on a set.</summary>
[ProtoContract]
public sealed class SemaphoreUndoImage
{
    [ProtoMember(1)] public int Pid { get; set; }
    /// <summary>One adjustment per semaphore, packed i32.</summary>
    [ProtoMember(2)] public byte[] Adjustments { get; set; } = Array.Empty<byte>();
}

/// <summary>A message queue: its messages in order, limit, times and last pids.</summary>
[ProtoContract]
public sealed class MessageQueueImage
{
    [ProtoMember(1)] public IpcPermImage? Perm { get; set; }
    [ProtoMember(2)] public List<IpcMessageImage> Messages { get; set; } = new();
    [ProtoMember(3)] public long MaxBytes { get; set; }
    [ProtoMember(4)] public long SendTime { get; set; }
    [ProtoMember(5)] public long ReceiveTime { get; set; }
    [ProtoMember(6)] public long ChangeTime { get; set; }
    [ProtoMember(7)] public int LastSender { get; set; }
    [ProtoMember(8)] public int LastReceiver { get; set; }
}

/// <summary>One queued message.</summary>
[ProtoContract]
public sealed class IpcMessageImage
{
    [ProtoMember(1)] public long Type { get; set; }
    [ProtoMember(2)] public byte[] Text { get; set; } = Array.Empty<byte>();
}

/// <summary>
/// A shared memory segment: size, creator, times, and its non-zero pages in the page stream
/// (attachments are the VMAs that name it, <see cref="VmaImage.SharedMemorySegment"/>).
/// </summary>
[ProtoContract]
public sealed class SharedMemoryImage
{
    [ProtoMember(1)] public IpcPermImage? Perm { get; set; }
    [ProtoMember(2)] public long Size { get; set; }
    [ProtoMember(3)] public int CreatorPid { get; set; }
    [ProtoMember(4)] public int LastPid { get; set; }
    [ProtoMember(5)] public long AttachTime { get; set; }
    [ProtoMember(6)] public long DetachTime { get; set; }
    [ProtoMember(7)] public long ChangeTime { get; set; }
    /// <summary>Page numbers of the saved (non-zero) pages, packed u32, ascending.</summary>
    [ProtoMember(8)] public byte[] SavedPages { get; set; } = Array.Empty<byte>();
    /// <summary>Index in the page stream of the first saved page.</summary>
    [ProtoMember(9)] public long FirstPage { get; set; }
    /// <summary>The key it was created with (IPC_RMID makes Perm.Key private but /proc/PID/maps keeps this one).</summary>
    [ProtoMember(10)] public int OriginalKey { get; set; }
}
