using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Vfs;

namespace RunscNet.Sentry.Kernel.Ipc;

/// <summary>
/// A System V shared memory segment (shmget(2)): its pages are a memfd the host maps MAP_SHARED
/// into every attaching address space. Attachments are recorded per address space; one that a
/// fork copied is not counted in shm_nattch. Guarded by <see cref="IpcNamespace.Lock"/>.
/// </summary>
internal sealed class SharedMemorySegment : IIpcObject
{
    /// <summary>SHM_DEST and SHM_LOCKED, shown in shm_perm.mode.</summary>
    public const uint SHM_DEST = 0x200, SHM_LOCKED = 0x400;

    private readonly List<(WeakReference<AddressSpace> Space, ulong Address)> _attachments = new();

    /// <summary>A segment of <paramref name="size"/> bytes backed by <paramref name="file"/> (a memfd; the segment owns one reference).</summary>
    public SharedMemorySegment(int id, IpcPermissions perm, long size, FileDescription file, int creatorPid)
    {
        Id = id;
        Perm = perm;
        Size = size;
        File = file;
        CreatorPid = creatorPid;
        OriginalKey = perm.Key;
        MapName = $"/SYSV{perm.Key:x8} (deleted)";
        ChangeTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <inheritdoc/>
    public int Id { get; }

    /// <inheritdoc/>
    public IpcPermissions Perm { get; private set; }

    /// <summary>shm_segsz: the size asked for.</summary>
    public long Size { get; }

    /// <summary>The memfd holding the pages.</summary>
    public FileDescription File { get; }

    /// <summary>shm_cpid.</summary>
    public int CreatorPid { get; }

    /// <summary>shm_lpid: the last shmat/shmdt.</summary>
    public int LastPid { get; set; }

    /// <summary>shm_atime, shm_dtime, shm_ctime.</summary>
    public long AttachTime { get; set; }

    /// <summary>shm_dtime.</summary>
    public long DetachTime { get; set; }

    /// <summary>shm_ctime.</summary>
    public long ChangeTime { get; set; }

    /// <summary>True once IPC_RMID marked it: it goes when the last attachment does.</summary>
    public bool Destroyed => (Perm.Mode & SHM_DEST) != 0;

    /// <summary>The key it was created with (IPC_RMID makes <see cref="Perm"/>'s private; the mappings' name keeps it).</summary>
    public int OriginalKey { get; }

    /// <summary>The name /proc/PID/maps shows for an attachment, as Linux does (the key it was created with).</summary>
    public string MapName { get; }

    /// <summary>Records an attachment at <paramref name="address"/> of <paramref name="space"/>.</summary>
    public void Attach(AddressSpace space, ulong address, int pid)
    {
        _attachments.RemoveAll(a => a.Address == address && a.Space.TryGetTarget(out var s) && s == space);
        _attachments.Add((new WeakReference<AddressSpace>(space), address));
        LastPid = pid;
        AttachTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>Forgets the attachment at <paramref name="address"/> of <paramref name="space"/>; false if there is none.</summary>
    public bool Detach(AddressSpace space, ulong address, int pid)
    {
        int i = _attachments.FindIndex(a => a.Address == address && a.Space.TryGetTarget(out var s) && s == space);
        if (i < 0) return false;
        _attachments.RemoveAt(i);
        LastPid = pid;
        DetachTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return true;
    }

    /// <summary>True if <paramref name="space"/> has this segment attached at <paramref name="address"/>.</summary>
    public bool IsAttachedAt(AddressSpace space, ulong address) =>
        _attachments.Exists(a => a.Address == address && a.Space.TryGetTarget(out var s) && s == space);

    /// <summary>
    /// shm_nattch: attachments whose address space is still some process's (exec and exit
    /// drop a process's address space) and still holds the mapping (munmap or a remap over it
    /// ends an attachment too).
    /// </summary>
    public int Attachments(ISet<AddressSpace> live)
    {
        _attachments.RemoveAll(a => !a.Space.TryGetTarget(out var s) || !live.Contains(s) ||
            !s.Vmas.Any(v => v.Start == a.Address && v.Name == MapName));
        return _attachments.Count;
    }

    /// <summary>IPC_RMID: the key becomes private and the segment is destroyed with its last attachment.</summary>
    public void MarkDestroyed()
    {
        Perm = new IpcPermissions
        {
            Key = 0, Uid = Perm.Uid, Gid = Perm.Gid, Cuid = Perm.Cuid, Cgid = Perm.Cgid, Mode = Perm.Mode | SHM_DEST, Seq = Perm.Seq,
        };
    }
}
