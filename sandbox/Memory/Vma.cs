namespace RunscNet.Sentry.Memory;

/// <summary>
/// One virtual memory area of an application address space: [Start, End) with one protection and
/// one backing (anonymous or a file at Offset). Page-aligned.
/// </summary>
internal sealed record Vma(ulong Start, ulong End, int Prot, int Flags, string? Name, ulong Offset)
{
    /// <summary>PROT_READ/PROT_WRITE/PROT_EXEC bits.</summary>
    public const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    /// <summary>MAP_SHARED/MAP_PRIVATE/MAP_ANONYMOUS bits as in mmap(2).</summary>
    public const int MapShared = 1, MapPrivate = 2, MapAnonymous = 0x20, MapGrowsDown = 0x100;
    /// <summary>The Sentry's own bit: a shared file mapping of a description not open for writing (mprotect may not add PROT_WRITE).</summary>
    public const int NoSharedWrite = 0x40000000;

    /// <summary>Length in bytes.</summary>
    public ulong Length => End - Start;

    /// <summary>
    /// For a shared mapping, what the memory is (equal objects for the same memory in every
    /// address space: a <see cref="SharedFileIdentity"/> for a file, one object per
    /// MAP_SHARED|MAP_ANONYMOUS mmap that fork copies along); null for private mappings.
    /// Futexes in shared memory are keyed by it, as Linux keys them by inode and page offset.
    /// </summary>
    public object? SharedObject { get; init; }

    /// <summary>
    /// The open file a file mapping maps (Linux's vm_file): /proc/PID/maps names it by its path as
    /// the reader sees it and shows its device and inode. A plain reference, not a counted one: it
    /// is read for its location and stat only, which outlive the description's release.
    /// </summary>
    public Vfs.FileDescription? File { get; init; }

    /// <summary>Where <see cref="Start"/> lies in <see cref="SharedObject"/> (bytes).</summary>
    public ulong SharedOffset { get; init; }

    /// <summary>The part of this VMA within [start, end) (the file offset moves along).</summary>
    public Vma Slice(ulong start, ulong end)
    {
        ulong s = Math.Max(start, Start), e = Math.Min(end, End);
        ulong off = (Flags & MapAnonymous) != 0 || Name == null ? Offset : Offset + (s - Start);
        return this with { Start = s, End = e, Offset = off, SharedOffset = SharedOffset + (s - Start) };
    }

    /// <summary>The perms column of /proc/pid/maps ("r-xp", "rw-s").</summary>
    public string Perms =>
        $"{((Prot & ProtRead) != 0 ? 'r' : '-')}{((Prot & ProtWrite) != 0 ? 'w' : '-')}{((Prot & ProtExec) != 0 ? 'x' : '-')}{((Flags & MapShared) != 0 ? 's' : 'p')}";

    /// <summary>
    /// One line of /proc/pid/maps as show_map_vma prints it: "start-end perms offset maj:min inode ",
    /// then, when there is a name, spaces up to column 72, one more, and the name.
    /// </summary>
    public static string MapsLine(ulong start, ulong end, string perms, ulong offset, uint major, uint minor, ulong inode, string? name)
    {
        string line = $"{start:x8}-{end:x8} {perms} {offset:x8} {major:x2}:{minor:x2} {inode} ";
        return name is null ? line : line.PadRight(72) + " " + name;
    }
}

/// <summary>The identity of a host file (st_dev, st_ino) that shared mappings of it have in common.</summary>
internal readonly record struct SharedFileIdentity(ulong Device, ulong Inode);

/// <summary>
/// The sorted, non-overlapping set of VMAs of one address space, with the splitting that
/// munmap, mprotect and MAP_FIXED need. Not thread-safe: the owning <see cref="AddressSpace"/> locks.
/// </summary>
internal sealed class VmaSet
{
    private readonly List<Vma> _vmas = new();

    /// <summary>The VMAs in address order.</summary>
    public IReadOnlyList<Vma> All => _vmas;

    /// <summary>Adds <paramref name="vma"/>, replacing whatever overlapped it (MAP_FIXED semantics).</summary>
    public void Insert(Vma vma)
    {
        Remove(vma.Start, vma.End);
        int i = 0;
        while (i < _vmas.Count && _vmas[i].Start < vma.Start) i++;
        _vmas.Insert(i, vma);
    }

    /// <summary>Removes [start, end), splitting VMAs that straddle the edges.</summary>
    public void Remove(ulong start, ulong end)
    {
        for (int i = 0; i < _vmas.Count; i++)
        {
            var v = _vmas[i];
            if (v.End <= start || v.Start >= end) continue;
            _vmas.RemoveAt(i);
            int at = i;
            if (v.Start < start) _vmas.Insert(at++, v.Slice(v.Start, start));
            if (v.End > end) _vmas.Insert(at++, v.Slice(end, v.End));
            i = at - 1;
        }
    }

    /// <summary>Changes the protection of [start, end), splitting as needed. False if part of the range is unmapped (ENOMEM).</summary>
    public bool Protect(ulong start, ulong end, int prot)
    {
        if (!IsFullyMapped(start, end)) return false;
        var affected = _vmas.Where(v => v.End > start && v.Start < end).ToList();
        foreach (var v in affected)
            Insert(v.Slice(start, end) with { Prot = prot });
        return true;
    }

    /// <summary>True if every page of [start, end) belongs to some VMA.</summary>
    public bool IsFullyMapped(ulong start, ulong end)
    {
        ulong at = start;
        foreach (var v in _vmas)
        {
            if (v.End <= at) continue;
            if (v.Start > at) return false;
            at = v.End;
            if (at >= end) return true;
        }
        return at >= end;
    }

    /// <summary>True if no VMA overlaps [start, end).</summary>
    public bool IsFree(ulong start, ulong end) => !_vmas.Any(v => v.End > start && v.Start < end);

    /// <summary>The VMA containing <paramref name="address"/>, or null.</summary>
    public Vma? Find(ulong address) => _vmas.FirstOrDefault(v => v.Start <= address && address < v.End);

    /// <summary>A copy (fork).</summary>
    public VmaSet Clone()
    {
        var c = new VmaSet();
        c._vmas.AddRange(_vmas);
        return c;
    }
}
