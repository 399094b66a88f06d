using System.Buffers.Binary;

namespace RunscNet.Sentry.Vfs.Inotify;

/// <summary>Checkpoint and restore of an inotify instance: watches by path, queued events, next wd.</summary>
internal sealed partial class InotifyFile
{
    /// <summary>The watches (wd, mask, where added, inode), the queued events and the next wd.</summary>
    public (List<InotifyWatch> Watches, List<byte[]> Events, int NextWd) CheckpointState()
    {
        lock (_lock) return (_watches.Values.OrderBy(w => w.Descriptor).ToList(), _events.Select(e => (byte[])e.Clone()).ToList(), _nextWd);
    }

    /// <summary>A saved watch again, with its own wd; false when the wd or inode is already watched.</summary>
    public bool RestoreWatch(int wd, Inode inode, uint mask, VfsPath at)
    {
        lock (_lock)
        {
            if (wd < 1 || _watches.ContainsKey(wd) || _watches.Values.Any(w => w.Inode == inode)) return false;
            var watch = new InotifyWatch(this, wd, inode, mask, at);
            _watches[wd] = watch;
            InotifyRegistry.Add(watch);
            return true;
        }
    }

    /// <summary>
    /// The saved events queued again (hostile input: each must be one well-formed record) and the
    /// next wd; false when they are malformed.
    /// </summary>
    public bool RestoreQueue(List<byte[]> events, int nextWd)
    {
        if (nextWd < 1 || events.Count > MaxQueuedEvents + 1) return false;
        foreach (var e in events)
        {
            if (e.Length < HeaderSize || e.Length > HeaderSize + 4096 || (e.Length - HeaderSize) % HeaderSize != 0) return false;
            if (BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(12)) != (uint)(e.Length - HeaderSize)) return false;
            uint mask = BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(4));
            if ((mask & ~(InotifyMask.AllEvents | InotifyMask.IN_Q_OVERFLOW | InotifyMask.IN_IGNORED | InotifyMask.IN_ISDIR | InotifyMask.IN_UNMOUNT)) != 0) return false;
            // A name is NUL-terminated and padded with NULs.
            if (e.Length > HeaderSize && e[^1] != 0) return false;
        }
        lock (_lock)
        {
            foreach (var e in events)
            {
                _events.Enqueue((byte[])e.Clone());
                _queuedBytes += e.Length;
                _last = e;
            }
            _nextWd = nextWd;
        }
        return true;
    }
}
