using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Vfs;

// Lock order: AddressSpace._lock -> the VFS locks a file read takes (mmap of a file without a
// host fd copies its data in under the lock). The platform calls made under it (host system
// calls in the stub, fd installs) take no lock. AddressSpace._lock is the only lock of Memory/.

namespace RunscNet.Sentry.Memory;

/// <summary>
/// An application address space (the mm of one process): the Sentry's record of every mapping
/// (<see cref="VmaSet"/>), the program break, and the operations mmap/munmap/mprotect/mremap/brk
/// that change it. The host pages live in the platform context's stub; changes run there as host
/// system calls. A file whose data is a host fd (gofer files, tmpfs memfds) is mapped by the host
/// from a copy of that fd the Sentry hands the stub for the call (<see cref="IStubFdInstaller"/>),
/// so shared mappings share; on platforms without that, private file mappings are filled by
/// copying the file's bytes in and shared writable ones fail with ENODEV.
/// </summary>
internal sealed class AddressSpace
{
    /// <summary>Page size.</summary>
    public const ulong PageSize = 4096;

    /// <summary>End of the x86-64 user half (47-bit addresses); no host mapping lies above it.</summary>
    private const ulong UserSpaceEnd = 0x7fff_ffff_f000;

    private const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3, MAP_FIXED = 0x10,
        MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000,
        MAP_STACK = 0x20000, MAP_FIXED_NOREPLACE = 0x100000;
    private const int HostFlagsAllowed = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS |
        MAP_GROWSDOWN | MAP_NORESERVE | MAP_POPULATE | MAP_STACK | MAP_FIXED_NOREPLACE | MAP_32BIT;

    /// <summary>MAP_32BIT: the host places the mapping in the first 2 GiB (x86-64).</summary>
    private const int MAP_32BIT = 0x40;

    private readonly object _lock = new();
    private VmaSet _vmas = new();

    /// <summary>
    /// A platform context of this address space (the one it was built in; when that thread
    /// exits, another live thread's). Host calls run in the calling task's own context instead
    /// (see <see cref="HostContext"/>), since only a context's owner may drive it.
    /// </summary>
    public IPlatformContext Context { get; set; }

    /// <summary>
    /// The context to run host calls in: the calling task's own when it is a thread of this
    /// address space (every thread has one over the shared pages), else <see cref="Context"/>
    /// (exec building a new address space, fork adopting one).
    /// </summary>
    private IPlatformContext HostContext =>
        Task.Current is { } t && t.Context is { } own && t.ThreadGroup.AddressSpace == this ? own : Context;

    /// <summary>Start of the heap (end of the program's data, page-aligned).</summary>
    public ulong BrkStart { get; set; }

    /// <summary>Current program break.</summary>
    public ulong Brk { get; set; }

    /// <summary>Range of argv and envp strings on the initial stack (for /proc/pid/cmdline and environ).</summary>
    public (ulong ArgStart, ulong ArgEnd, ulong EnvStart, ulong EnvEnd) ArgRanges { get; set; }

    /// <summary>The path of the executable this address space was built for (/proc/pid/exe).</summary>
    public string ExecutablePath { get; set; } = "";

    /// <summary>The auxiliary vector written at exec (/proc/pid/auxv).</summary>
    public byte[] Auxv { get; set; } = Array.Empty<byte>();

    /// <summary>An address space in <paramref name="context"/>'s stub (a fresh stub is empty).</summary>
    public AddressSpace(IPlatformContext context) => Context = context;

    /// <summary>A snapshot of the VMAs in address order.</summary>
    public IReadOnlyList<Vma> Vmas
    {
        get { lock (_lock) return _vmas.All.ToArray(); }
    }

    /// <summary>Rounds up to a page multiple.</summary>
    public static ulong PageUp(ulong v) => (v + PageSize - 1) & ~(PageSize - 1);

    /// <summary>
    /// True if [start, end) may touch the platform's own mappings (stub, vDSO, host stack). The
    /// reserved windows are generous, so a range the application already holds (the host chose
    /// it, so it cannot overlap the platform's pages) is never refused. Caller holds the lock.
    /// </summary>
    private bool HitsReserved(ulong start, ulong end)
    {
        foreach (var (s, e) in Context.Reserved)
        {
            if (start >= e || s >= end) continue;
            ulong from = Math.Max(start, s), to = Math.Min(end, e);
            if (!_vmas.IsFullyMapped(from, to)) return true;
        }
        return false;
    }

    /// <summary>
    /// Runs mmap inside the address space. A host-chosen address (no MAP_FIXED) that falls in a
    /// window the platform reserves (the stub, vvar/vdso, the stub stack) is replaced by a free
    /// range the Sentry picks below that window, so a later MAP_FIXED inside the mapping (the
    /// loader's segments) is not refused. Preconditions: the caller holds _lock.
    /// </summary>
    private long HostMap(ulong addr, ulong len, int prot, int hostFlags, bool fixedMap, long stubFd = -1, ulong offset = 0)
    {
        long r = HostContext.HostSyscall(RawSyscall.SYS_mmap, addr, len, (ulong)prot, (ulong)hostFlags, (ulong)stubFd, offset);
        // The result travels through the application-writable shared page (systrap): an address
        // the host could not have chosen is refused before it reaches the VMA table.
        if (r >= 0 && (((ulong)r & 0xfff) != 0 || (ulong)r + len > UserSpaceEnd || (ulong)r + len < (ulong)r || (fixedMap && (ulong)r != addr)))
            return -Errno.ENOMEM;
        if (fixedMap || r < 0) return r;
        ulong hit = LowestReservedHit((ulong)r, (ulong)r + len);
        if (hit == ulong.MaxValue) return r;
        HostContext.HostSyscall(RawSyscall.SYS_munmap, (ulong)r, len);
        ulong below = hit;
        for (int tries = 0; tries < 16; tries++)
        {
            ulong at = FreeRangeBelow(below, len);
            if (at == 0) break;
            r = HostContext.HostSyscall(RawSyscall.SYS_mmap, at, len, (ulong)prot, (ulong)(hostFlags | MAP_FIXED_NOREPLACE), (ulong)stubFd, offset);
            if (r >= 0) return r;
            below = at;   // a host mapping the Sentry does not track (EEXIST): look further down
        }
        return -Errno.ENOMEM;
    }

    private ulong LowestReservedHit(ulong start, ulong end)
    {
        ulong hit = ulong.MaxValue;
        foreach (var (s, e) in Context.Reserved)
            if (start < e && s < end) hit = Math.Min(hit, s);
        return hit;
    }

    /// <summary>The highest page-aligned range of <paramref name="len"/> bytes ending at or below <paramref name="below"/> that no VMA or reserved window overlaps; 0 if none.</summary>
    private ulong FreeRangeBelow(ulong below, ulong len)
    {
        var taken = new List<(ulong Start, ulong End)>(Context.Reserved);
        foreach (var v in _vmas.All) taken.Add((v.Start, v.End));
        ulong at = below > len ? (below - len) & ~(PageSize - 1) : 0;
        bool moved = true;
        while (moved && at >= 0x10000)
        {
            moved = false;
            foreach (var (s, e) in taken)
            {
                if (at < e && s < at + len)
                {
                    if (s < len + 0x10000) return 0;
                    at = (s - len) & ~(PageSize - 1);
                    moved = true;
                }
            }
        }
        return at >= 0x10000 ? at : 0;
    }

    /// <summary>
    /// mmap(2). <paramref name="file"/> is null for anonymous mappings. At most
    /// <paramref name="fileBytes"/> bytes of the file are copied (the loader's p_filesz); the rest
    /// of the mapping reads as zeros. Returns the address or -errno.
    /// </summary>
    public long Map(Task? task, ulong addr, ulong length, int prot, int flags, FileDescription? file, ulong offset,
        string? name = null, ulong fileBytes = ulong.MaxValue)
    {
        if (length == 0) return -Errno.EINVAL;
        ulong len = PageUp(length);
        if (len < length || len > (1UL << 47)) return -Errno.ENOMEM;
        int type = flags & MAP_SHARED_VALIDATE;
        if (type == 0) return -Errno.EINVAL;
        if ((offset & (PageSize - 1)) != 0) return -Errno.EINVAL;
        bool fixedMap = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
        if (fixedMap && (addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if ((prot & ~7) != 0) return -Errno.EINVAL;
        bool anonymous = (flags & MAP_ANONYMOUS) != 0 || file == null;
        bool shared = type != MAP_PRIVATE;
        // MAP_SHARED_VALIDATE is a file mapping's type only.
        if (anonymous && type == MAP_SHARED_VALIDATE) return -Errno.EINVAL;

        int hostFlags = flags & HostFlagsAllowed;
        if (type == MAP_SHARED_VALIDATE) hostFlags = (hostFlags & ~MAP_SHARED_VALIDATE) | MAP_SHARED;
        lock (_lock)
        {
            if (fixedMap && HitsReserved(addr, addr + len)) return -Errno.ENOMEM;
            if (anonymous)
            {
                long r = HostMap(addr, len, prot, hostFlags, fixedMap);
                if (r < 0) return r;
                _vmas.Insert(new Vma((ulong)r, (ulong)r + len, prot, (shared ? Vma.MapShared : Vma.MapPrivate) | Vma.MapAnonymous, name, 0)
                {
                    SharedObject = shared ? new object() : null,
                });
                return r;
            }

            // The host maps the file itself when the file's data is a host fd and the platform can
            // hand it to the stub: shared mappings then really share, private ones are not copied.
            // (The loader's partial last pages, fileBytes, keep the copy: their tail must be zero.)
            if (fileBytes == ulong.MaxValue && file!.MapFd >= 0 && HostContext is IStubFdInstaller installer)
            {
                if (shared && (prot & Vma.ProtWrite) != 0 && !file.Writable) return -Errno.EACCES;
                long stubFd = installer.InstallFd(file.MapFd);
                if (stubFd >= 0)
                {
                    long mapped = HostMap(addr, len, prot, hostFlags & ~MAP_ANONYMOUS, fixedMap, stubFd, offset);
                    HostContext.HostSyscall(RawSyscall.SYS_close, (ulong)stubFd);
                    if (mapped < 0) return mapped;
                    int vmaFlags = shared ? Vma.MapShared | (file.Writable ? 0 : Vma.NoSharedWrite) : Vma.MapPrivate;
                    _vmas.Insert(new Vma((ulong)mapped, (ulong)mapped + len, prot, vmaFlags, name, offset)
                    {
                        File = file,
                        SharedObject = shared ? SharedIdentityOf(file) : null, SharedOffset = offset,
                    });
                    return mapped;
                }
            }
            if (shared && (prot & Vma.ProtWrite) != 0) return -Errno.ENODEV;
            // A private (or read-only shared) file mapping: anonymous pages filled with the file's bytes.
            hostFlags = (hostFlags & ~MAP_SHARED_VALIDATE) | MAP_PRIVATE | MAP_ANONYMOUS;
            long at = HostMap(addr, len, prot | Vma.ProtWrite, hostFlags, fixedMap);
            if (at < 0) return at;
            int err = CopyFileIn(task, (ulong)at, Math.Min(len, fileBytes), file!, offset);
            if (err < 0)
            {
                HostContext.HostSyscall(RawSyscall.SYS_munmap, (ulong)at, len);
                return err;
            }
            if ((prot & Vma.ProtWrite) == 0)
                HostContext.HostSyscall(RawSyscall.SYS_mprotect, (ulong)at, len, (ulong)prot);
            _vmas.Insert(new Vma((ulong)at, (ulong)at + len, prot, shared ? Vma.MapShared : Vma.MapPrivate, name, offset)
            {
                File = file,
                SharedObject = shared ? SharedIdentityOf(file!) : null, SharedOffset = offset,
            });
            return at;
        }
    }

    /// <summary>What shared mappings of <paramref name="file"/> have in common: its host file, else its inode.</summary>
    private static unsafe object SharedIdentityOf(FileDescription file)
    {
        LinuxStat st;
        if (file.HostFd >= 0 && HostFiles.fstat(file.HostFd, &st) == 0) return new SharedFileIdentity(st.Dev, st.Ino);
        return (object?)file.Inode ?? file;
    }

    private int CopyFileIn(Task? task, ulong address, ulong count, FileDescription file, ulong offset)
    {
        var buf = new byte[(int)Math.Min(count, 1UL << 20)];
        ulong done = 0;
        while (done < count)
        {
            int want = (int)Math.Min((ulong)buf.Length, count - done);
            long n = file.PRead(task!, buf.AsSpan(0, want), (long)(offset + done));
            if (n < 0) return n == -Errno.ESPIPE ? -Errno.ENODEV : (int)n;
            if (n == 0) break;   // end of file: the rest stays zero
            if (HostContext.Memory.Write(address + done, buf.AsSpan(0, (int)n)) != n) return -Errno.EFAULT;
            done += (ulong)n;
        }
        return 0;
    }

    /// <summary>munmap(2). Returns 0 or -errno.</summary>
    public int Unmap(ulong addr, ulong length)
    {
        if ((addr & (PageSize - 1)) != 0 || length == 0) return -Errno.EINVAL;
        ulong len = PageUp(length);
        lock (_lock)
        {
            if (HitsReserved(addr, addr + len)) return -Errno.EINVAL;
            long r = HostContext.HostSyscall(RawSyscall.SYS_munmap, addr, len);
            if (r < 0) return (int)r;
            _vmas.Remove(addr, addr + len);
            return 0;
        }
    }

    /// <summary>mprotect(2). Returns 0 or -errno.</summary>
    public int Protect(ulong addr, ulong length, int prot)
    {
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        const int PROT_GROWSDOWN = 0x01000000, PROT_GROWSUP = 0x02000000;
        if ((prot & ~(7 | PROT_GROWSDOWN | PROT_GROWSUP)) != 0) return -Errno.EINVAL;
        if (length == 0) return 0;
        ulong len = PageUp(length);
        lock (_lock)
        {
            if (!_vmas.IsFullyMapped(addr, addr + len)) return -Errno.ENOMEM;
            // mprotect(2): EACCES for PROT_WRITE on a MAP_SHARED mapping of a file not opened for writing.
            if ((prot & Vma.ProtWrite) != 0 && _vmas.All.Any(v => v.Start < addr + len && addr < v.End && (v.Flags & Vma.NoSharedWrite) != 0))
                return -Errno.EACCES;
            long r = HostContext.HostSyscall(RawSyscall.SYS_mprotect, addr, len, (ulong)(prot & 7));
            if (r < 0) return (int)r;
            _vmas.Protect(addr, addr + len, prot & 7);
            return 0;
        }
    }

    /// <summary>mremap(2). Returns the new address or -errno.</summary>
    public long Remap(ulong oldAddr, ulong oldLen, ulong newLen, int flags, ulong newAddr)
    {
        const int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
        if ((oldAddr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0) return -Errno.EINVAL;
        if ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0) return -Errno.EINVAL;
        if (newLen == 0) return -Errno.EINVAL;
        oldLen = PageUp(oldLen);
        newLen = PageUp(newLen);
        lock (_lock)
        {
            var old = _vmas.Find(oldAddr);
            if (old == null) return -Errno.EFAULT;
            if ((flags & MREMAP_FIXED) != 0 && HitsReserved(newAddr, newAddr + newLen)) return -Errno.EINVAL;
            long r = HostContext.HostSyscall(RawSyscall.SYS_mremap, oldAddr, oldLen, newLen, (ulong)flags, newAddr);
            if (r < 0) return r;
            if (((ulong)r & 0xfff) != 0 || (ulong)r + newLen > UserSpaceEnd) return -Errno.ENOMEM;
            if ((flags & MREMAP_DONTUNMAP) == 0) _vmas.Remove(oldAddr, oldAddr + Math.Max(oldLen, (ulong)r == oldAddr ? 0 : oldLen));
            _vmas.Insert(old with { Start = (ulong)r, End = (ulong)r + newLen });
            return r;
        }
    }

    /// <summary>brk(2): moves the break; returns the new (or, on failure, the old) break.</summary>
    public ulong SetBrk(ulong want)
    {
        lock (_lock)
        {
            if (want < BrkStart) return Brk;
            ulong oldEnd = PageUp(Brk), newEnd = PageUp(want);
            if (newEnd > oldEnd)
            {
                if (!_vmas.IsFree(oldEnd, newEnd) || HitsReserved(oldEnd, newEnd)) return Brk;
                long r = HostContext.HostSyscall(RawSyscall.SYS_mmap, oldEnd, newEnd - oldEnd, 3,
                    (ulong)(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE), ulong.MaxValue, 0);
                if (r < 0) return Brk;
                var heap = _vmas.Find(oldEnd - 1);
                ulong heapStart = heap != null && heap.Name == "[heap]" ? heap.Start : oldEnd;
                _vmas.Insert(new Vma(heapStart, newEnd, 3, Vma.MapPrivate | Vma.MapAnonymous, "[heap]", 0));
            }
            else if (newEnd < oldEnd)
            {
                HostContext.HostSyscall(RawSyscall.SYS_munmap, newEnd, oldEnd - newEnd);
                _vmas.Remove(newEnd, oldEnd);
            }
            Brk = want;
            return Brk;
        }
    }

    /// <summary>
    /// madvise(2): forwarded to the host for the advice values that only concern the host pages;
    /// EINVAL for an unknown advice or an unaligned start.
    /// </summary>
    public int Advise(ulong addr, ulong length, int advice)
    {
        // MADV_NORMAL..DONTNEED, FREE..COLLAPSE, HWPOISON, SOFT_OFFLINE, GUARD_INSTALL/REMOVE.
        bool known = advice is >= 0 and <= 4 or >= 8 and <= 25 or >= 100 and <= 103;
        if (!known || (addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        lock (_lock)
        {
            long r = HostContext.HostSyscall(RawSyscall.SYS_madvise, addr, PageUp(length), (ulong)advice);
            return r < 0 && r != -Errno.EINVAL ? (int)r : 0;
        }
    }

    /// <summary>
    /// A copy for fork: the same VMAs and break, in the forked stub <paramref name="childContext"/>
    /// (null until the child task adopts its stub; set <see cref="Context"/> then).
    /// </summary>
    public AddressSpace Fork(IPlatformContext? childContext)
    {
        lock (_lock)
        {
            return new AddressSpace(childContext!)
            {
                _vmas = _vmas.Clone(), BrkStart = BrkStart, Brk = Brk, ArgRanges = ArgRanges,
                ExecutablePath = ExecutablePath, Auxv = Auxv,
            };
        }
    }

    /// <summary>True if <paramref name="address"/> lies in a shared mapping (futexes there are keyed across processes).</summary>
    public bool IsSharedMapping(ulong address)
    {
        lock (_lock) return _vmas.Find(address) is { } v && (v.Flags & Vma.MapShared) != 0;
    }

    /// <summary>
    /// The cross-process key of <paramref name="address"/> when it lies in a shared mapping: the
    /// memory's identity and the byte offset in it (the same in every process mapping that memory,
    /// at whatever address); null for private memory.
    /// </summary>
    public (object Memory, ulong Offset)? SharedKeyOf(ulong address)
    {
        lock (_lock)
        {
            if (_vmas.Find(address) is not { } v || (v.Flags & Vma.MapShared) == 0) return null;
            return v.SharedObject is { } o ? (o, v.SharedOffset + (address - v.Start)) : null;
        }
    }

    /// <summary>Records a mapping made outside <see cref="Map"/> (the stack the loader builds).</summary>
    public void Record(Vma vma)
    {
        lock (_lock) _vmas.Insert(vma);
    }
}
