namespace RunscNet.Sentry.Vfs.Gofer;

/// <summary>
/// What the Sentry changed in the gofer's files, by host (device, inode), so that cached
/// attributes can be trusted: the container owns its files (as gVisor's default cache policy
/// assumes), so attributes change only through the Sentry's own calls (setattr, writes, names
/// added or removed in a directory...), and each such call marks the file changed here. A
/// <see cref="GoferInode"/> keeps the stamp of <see cref="Now"/> taken before it fetched its
/// attributes; they are current while the file's change stamp is not newer. Files the Sentry holds
/// open for writing change without a call per write: for them stat asks the host fd (fstat, no
/// gofer round trip). Keyed by host identity, so hard links and the same file reached through
/// two mounts see each other's changes. One tracker per process (host identities are global).
/// </summary>
internal sealed class GoferChangeTracker
{
    private sealed class Entry
    {
        public long Changed;
        public List<HostRegularFile>? Writers;
    }

    private readonly Dictionary<(ulong Dev, ulong Ino), Entry> _entries = new();
    private long _clock = 1;

    /// <summary>The tracker of this process.</summary>
    public static GoferChangeTracker Shared { get; } = new();

    /// <summary>The current stamp: take it before fetching attributes.</summary>
    public long Now
    {
        get { lock (_entries) return _clock; }
    }

    /// <summary>Marks the file changed: attributes fetched before now are stale.</summary>
    public void Changed(ulong dev, ulong ino)
    {
        lock (_entries)
        {
            EntryFor(dev, ino).Changed = ++_clock;
        }
    }

    /// <summary>
    /// The stamp of the file's last change (0 if never changed) and, if the Sentry holds it open
    /// for writing, one such open file (its host fd has the current attributes).
    /// </summary>
    public long LastChange(ulong dev, ulong ino, out HostRegularFile? writer)
    {
        lock (_entries)
        {
            writer = null;
            if (!_entries.TryGetValue((dev, ino), out var e)) return 0;
            if (e.Writers is { Count: > 0 } w) writer = w[^1];
            return e.Changed;
        }
    }

    /// <summary>Records <paramref name="file"/> as open for writing on the file; its release marks the file changed.</summary>
    public void AddWriter(ulong dev, ulong ino, HostRegularFile file)
    {
        lock (_entries)
        {
            (EntryFor(dev, ino).Writers ??= new()).Add(file);
        }
    }

    /// <summary>Forgets a writer (on its release) and marks the file changed.</summary>
    public void RemoveWriter(ulong dev, ulong ino, HostRegularFile file)
    {
        lock (_entries)
        {
            var e = EntryFor(dev, ino);
            e.Writers?.Remove(file);
            e.Changed = ++_clock;
        }
    }

    private Entry EntryFor(ulong dev, ulong ino)
    {
        if (!_entries.TryGetValue((dev, ino), out var e)) _entries[(dev, ino)] = e = new Entry();
        return e;
    }
}
