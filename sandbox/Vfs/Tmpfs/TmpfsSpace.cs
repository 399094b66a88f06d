using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Tmpfs;

/// <summary>
/// A tmpfs mount's size= and nr_inodes= limits, enforced as Linux's shmem does: data pages are
/// counted when allocated (sparse files and ftruncate cost nothing; overwriting allocated pages
/// is always allowed), a write that runs out of room stops at the page that does not fit (a
/// short write, ENOSPC when nothing fit), fallocate is all or nothing, and creating a name
/// (file, directory, symlink, node, hard link) takes an inode (ENOSPC when none is left).
/// Allocated pages are the memfds' own st_blocks (pages dirtied through mmap included); to keep
/// writes cheap an upper bound is kept and the memfds are only summed when the bound would pass
/// the limit. Pages faulted in through a shared mapping are not stopped at the limit (Linux
/// raises SIGBUS): they are bounded by the container's memory cgroup, which every tmpfs page is
/// charged to (the Sentry and the stubs live in the container's cgroup).
/// </summary>
internal sealed class TmpfsSpace
{
    private const long PageSize = 4096;
    private readonly object _lock = new();
    private readonly HashSet<int> _memfds = new();
    private long _boundPages;
    private long _inodes;

    /// <summary>The size limit in pages; 0 for none (memfd_create's internal mount, the memory overlay).</summary>
    public long LimitPages { get; set; }

    /// <summary>The inode limit; 0 for none.</summary>
    public long InodeLimit { get; set; }

    /// <summary>Inodes in use (the root's included).</summary>
    public long InodesUsed => Interlocked.Read(ref _inodes);

    /// <summary>Records a new data memfd of this file system.</summary>
    public void Track(int memfd)
    {
        lock (_lock) _memfds.Add(memfd);
    }

    /// <summary>Forgets a data memfd (before it is closed).</summary>
    public void Untrack(int memfd)
    {
        lock (_lock) _memfds.Remove(memfd);
    }

    /// <summary>Pages allocated now, summed over the memfds.</summary>
    public long UsedPages()
    {
        lock (_lock) return UsedPagesLocked();
    }

    private unsafe long UsedPagesLocked()
    {
        long pages = 0;
        foreach (int fd in _memfds)
        {
            LinuxStat st;
            if (HostFiles.fstat(fd, &st) == 0) pages += (st.Blocks * 512 + PageSize - 1) / PageSize;
        }
        return pages;
    }

    /// <summary>
    /// How many of <paramref name="length"/> bytes at <paramref name="offset"/> of
    /// <paramref name="memfd"/> may be written: all, the part before the first page that does
    /// not fit, or -ENOSPC when not even the first does.
    /// </summary>
    public long AllowWrite(int memfd, long offset, long length)
    {
        if (LimitPages == 0 || length <= 0) return length;
        long first = offset / PageSize, end = (offset + length + PageSize - 1) / PageSize;
        lock (_lock)
        {
            if (_boundPages + (end - first) <= LimitPages)
            {
                _boundPages += end - first;
                return length;
            }
            _boundPages = UsedPagesLocked();
            long free = Math.Max(0, LimitPages - _boundPages);
            long holes = HolePages(memfd, first * PageSize, end * PageSize, free, out long cut);
            _boundPages += holes;
            long allowed = Math.Min(length, cut - offset);
            return allowed > 0 ? allowed : -Errno.ENOSPC;
        }
    }

    /// <summary>fallocate(2) allocating [offset, offset+length): 0 if every missing page fits, else -ENOSPC (nothing allocated).</summary>
    public int AllowAllocate(int memfd, long offset, long length)
    {
        if (LimitPages == 0 || length <= 0) return 0;
        long start = offset / PageSize * PageSize, end = (offset + length + PageSize - 1) / PageSize * PageSize;
        lock (_lock)
        {
            _boundPages = UsedPagesLocked();
            long free = Math.Max(0, LimitPages - _boundPages);
            long holes = HolePages(memfd, start, end, free, out long cut);
            if (cut < end) return -Errno.ENOSPC;
            _boundPages += holes;
            return 0;
        }
    }

    /// <summary>
    /// Counts the unallocated pages of [from, to) (page aligned) in order, up to
    /// <paramref name="budget"/>; <paramref name="cut"/> is where the first page beyond the
    /// budget starts (<paramref name="to"/> if all fit). SEEK_DATA/SEEK_HOLE tell shmem's
    /// allocated pages; beyond the end of the file everything is a hole.
    /// </summary>
    private static long HolePages(int fd, long from, long to, long budget, out long cut)
    {
        long holes = 0, pos = from;
        while (pos < to)
        {
            long data = HostFiles.lseek(fd, pos, 3 /* SEEK_DATA */);
            if (data < 0 || data > to) data = to;
            if (data > pos)
            {
                long pages = (data - pos + PageSize - 1) / PageSize;
                if (holes + pages > budget)
                {
                    cut = pos + (budget - holes) * PageSize;
                    return budget;
                }
                holes += pages;
            }
            if (data >= to) break;
            long hole = HostFiles.lseek(fd, data, 4 /* SEEK_HOLE */);
            if (hole <= data) break;
            // The hole at the end of the file starts at its size, inside the allocated last page.
            long next = (hole + PageSize - 1) / PageSize * PageSize;
            if (next <= pos) break;
            pos = next;
        }
        cut = to;
        return holes;
    }

    /// <summary>Takes an inode for a new name: 0, or -ENOSPC when nr_inodes are all in use.</summary>
    public int ReserveInode()
    {
        long n = Interlocked.Increment(ref _inodes);
        if (InodeLimit == 0 || n <= InodeLimit) return 0;
        Interlocked.Decrement(ref _inodes);
        return -Errno.ENOSPC;
    }

    /// <summary>Gives back the inode of a removed name.</summary>
    public void ReleaseInode() => Interlocked.Decrement(ref _inodes);
}
