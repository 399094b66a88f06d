using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>Address-space system calls: mmap, munmap, mprotect, mremap, brk, madvise, msync, mlock.</summary>
internal static partial class MemorySyscalls
{
    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Partial(9, "mmap", Mmap, "Files backed by a host fd (container files, tmpfs) are mapped by the host on the systrap platform; on ptrace private file mappings are copies and shared writable ones return ENODEV.");
        t.Supported(11, "munmap", (Task task, in SyscallArguments a) => Mm(task).Unmap(a.A0, a.A1));
        t.Supported(10, "mprotect", (Task task, in SyscallArguments a) => Mm(task).Protect(a.A0, a.A1, (int)a.A2));
        t.Partial(25, "mremap", (Task task, in SyscallArguments a) => Mm(task).Remap(a.A0, a.A1, a.A2, (int)a.A3, a.A4),
            "Growing a private file mapping adds zero pages, not file contents.");
        t.Supported(12, "brk", (Task task, in SyscallArguments a) => (long)Mm(task).SetBrk(a.A0));
        t.Partial(28, "madvise", (Task task, in SyscallArguments a) => Mm(task).Advise(a.A0, a.A1, (int)a.A2), "Advice is passed to the host pages.");
        t.Supported(26, "msync", Msync);
        t.Partial(27, "mincore", Mincore, "Reports every mapped page as resident.");
        t.Partial(149, "mlock", (Task task, in SyscallArguments a) => Mlock(task, a.A0, a.A1, 0), "Checked, then a no-op (the sandbox's memory is the host's to page).");
        t.Partial(150, "munlock", (Task task, in SyscallArguments a) => Mlock(task, a.A0, a.A1, 0), "Checked, then a no-op.");
        t.Partial(151, "mlockall", (Task task, in SyscallArguments a) => Mlockall((int)a.A0), "Checked, then a no-op.");
        t.Partial(152, "munlockall", (Task task, in SyscallArguments a) => 0, "No-op.");
        t.Partial(325, "mlock2", (Task task, in SyscallArguments a) => Mlock(task, a.A0, a.A1, (int)a.A2), "Checked, then a no-op.");
        t.Partial(324, "membarrier", Membarrier, "Single-threaded processes: queries report no commands; barriers are no-ops.");
    }

    private static AddressSpace Mm(Task t) => t.AddressSpace!;

    private static long Mmap(Task t, in SyscallArguments a)
    {
        const int MAP_ANONYMOUS = 0x20;
        int flags = (int)a.A3;
        int fd = (int)a.A4;
        Vfs.FileDescription? file = null;
        if ((flags & MAP_ANONYMOUS) == 0)
        {
            file = t.FileForFd(fd);
            if (file == null) return -Errno.EBADF;
            if (!CanRead(file)) return -Errno.EACCES;
        }
        return Mm(t).Map(t, a.A0, a.A1, (int)a.A2, flags, file, a.A5);
    }

    private static bool CanRead(Vfs.FileDescription f) => (f.StatusFlags & 3) != 1;   // not O_WRONLY

    private static long Msync(Task t, in SyscallArguments a)
    {
        const int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;
        int flags = (int)a.A2;
        if ((a.A0 & 4095) != 0 || (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0) return -Errno.EINVAL;
        if ((flags & MS_ASYNC) != 0 && (flags & MS_SYNC) != 0) return -Errno.EINVAL;
        ulong end = AddressSpace.PageUp(a.A0 + a.A1);
        foreach (var v in Mm(t).Vmas)
        {
            if (v.End <= a.A0 || v.Start >= end) continue;
            // Shared file mappings are the host's own: its msync writes them back.
            return t.Context!.HostSyscall(Interop.RawSyscall.SYS_msync, a.A0, end - a.A0, (ulong)flags);   // the caller's own thread of the stub
        }
        return a.A1 == 0 ? 0 : -Errno.ENOMEM;
    }

    /// <summary>mlock(2)/munlock(2)/mlock2(2) checks: EINVAL for flags other than MLOCK_ONFAULT, ENOMEM when the range is not all mapped.</summary>
    private static long Mlock(Task t, ulong addr, ulong length, int flags)
    {
        const int MLOCK_ONFAULT = 1;
        if ((flags & ~MLOCK_ONFAULT) != 0) return -Errno.EINVAL;
        ulong start = addr & ~4095UL, end = AddressSpace.PageUp(addr + length);
        if (end < start) return -Errno.EINVAL;
        if (end == start) return 0;
        for (ulong at = start; at < end;)
        {
            var v = Mm(t).Vmas.FirstOrDefault(x => x.Start <= at && at < x.End);
            if (v == null) return -Errno.ENOMEM;
            at = v.End;
        }
        return 0;
    }

    /// <summary>mlockall(2): MCL_CURRENT (1), MCL_FUTURE (2), MCL_ONFAULT (4, with one of the others).</summary>
    private static long Mlockall(int flags)
    {
        if (flags == 0 || (flags & ~7) != 0 || flags == 4) return -Errno.EINVAL;
        return 0;
    }

    /// <summary>
    /// mincore(2): EINVAL for an unaligned start; ENOMEM when [start, start+len) leaves the user
    /// address space or holds an unmapped page; EFAULT for a bad vector. Every mapped page is
    /// reported resident. The vector is written in chunks of at most 4096 entries, as Linux does
    /// (a huge length must not become a huge Sentry buffer).
    /// </summary>
    private static long Mincore(Task t, in SyscallArguments a)
    {
        const ulong TaskSize = 0x7ffffffff000;
        ulong start = a.A0, length = a.A1;
        if ((start & 4095) != 0) return -Errno.EINVAL;
        if (start > TaskSize || length > TaskSize - start) return -Errno.ENOMEM;
        ulong pages = length / 4096 + ((length & 4095) != 0 ? 1UL : 0);
        var vmas = Mm(t).Vmas;
        var chunk = new byte[4096];
        for (ulong done = 0; done < pages;)
        {
            int n = (int)Math.Min(pages - done, (ulong)chunk.Length);
            for (int i = 0; i < n; i++)
            {
                ulong addr = start + (done + (ulong)i) * 4096;
                if (!vmas.Any(v => v.Start <= addr && addr < v.End))
                {
                    if (i == 0) return -Errno.ENOMEM;
                    n = i;   // copy out what was found, then report the hole
                    break;
                }
                chunk[i] = 1;
            }
            if (t.Memory.CopyOut(a.A2 + done, chunk.AsSpan(0, n)) != 0) return -Errno.EFAULT;
            done += (ulong)n;
            if (n < chunk.Length && done < pages) return -Errno.ENOMEM;
        }
        return 0;
    }

    private static long Membarrier(Task t, in SyscallArguments a)
    {
        const int MEMBARRIER_CMD_QUERY = 0;
        return (int)a.A0 == MEMBARRIER_CMD_QUERY ? 0 : 0;
    }
}
