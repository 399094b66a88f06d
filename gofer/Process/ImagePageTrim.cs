using System.Runtime.InteropServices;
using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// Drops the page-table entries of the read-only parts (code, read-only data) of the process's
/// ELF objects once a sandbox process (gofer, boot) is set up and about to idle. Start-up runs
/// code from all over the 10 MiB runsc-net binary, and the kernel maps 64 KiB around every
/// faulting page, so each long-lived process ends up with nearly the whole binary (and libc)
/// counted in its resident set although it will only ever run a small part of it again.
/// madvise(MADV_DONTNEED) on a private file mapping that was never written only unmaps: the pages
/// stay in the page cache (shared with every other runsc-net process), and the code the process
/// runs afterwards faults back in from there (minor faults, no I/O).
/// </summary>
/// <remarks>
/// Released are whole pages that lie both in a PT_LOAD segment without PF_W of a loaded object
/// (dl_iterate_phdr) and in a private, non-writable mapping that /proc/self/smaps shows without
/// anonymous pages: a page someone made writable and wrote (the runtime does so to one page of
/// .rodata; RELRO after relocation) holds a private copy that must not be dropped, and smaps
/// says so per mapping.
/// </remarks>
internal static unsafe class ImagePageTrim
{
    private static int s_smapsFd = -1;

    /// <summary>
    /// Opens /proc/self/smaps now and keeps it open, for a process that loses /proc later (the
    /// gofer before pivot_root): the open file reads the current mappings whenever it is read.
    /// </summary>
    public static void KeepMapsOpen()
    {
        if (s_smapsFd < 0) s_smapsFd = Files.OpenAt(PathConsts.AT_FDCWD, "/proc/self/smaps", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
    }

    /// <summary>Releases the pages; returns how many bytes were advised (0 when smaps cannot be read).</summary>
    public static long Now()
    {
        var segments = new List<(nuint Start, nuint End)>();
        GCHandle handle = GCHandle.Alloc(segments);
        try
        {
            LoadedObjects.IteratePhdr(&Visit, (void*)GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }
        // The smaps text lives outside the GC heap: this runs after the idle collection.
        nuint capacity = 256 * 1024;
        byte* maps = (byte*)NativeMemory.Alloc(capacity);
        long released = 0;
        try
        {
            int length = ReadSmaps(ref maps, ref capacity);
            if (length < 0) return 0;
            nuint page = (nuint)Environment.SystemPageSize;
            foreach ((nuint start, nuint end) in CleanReadOnlyMappings(new ReadOnlySpan<byte>(maps, length)))
            {
                foreach ((nuint segStart, nuint segEnd) in segments)
                {
                    nuint from = Math.Max(start, (segStart + page - 1) & ~(page - 1));
                    nuint to = Math.Min(end, segEnd & ~(page - 1));
                    if (to > from && LoadedObjects.Madvise(from, to - from, LoadedObjects.MADV_DONTNEED) == 0)
                        released += (long)(to - from);
                }
            }
        }
        finally
        {
            NativeMemory.Free(maps);
        }
        return released;
    }

    [UnmanagedCallersOnly]
    private static int Visit(DlPhdrInfo* info, nuint size, void* data)
    {
        var segments = (List<(nuint, nuint)>)GCHandle.FromIntPtr((IntPtr)data).Target!;
        for (int i = 0; i < info->HeaderCount; i++)
        {
            ElfProgramHeader* h = &info->Headers[i];
            if (h->Type != LoadedObjects.PT_LOAD || (h->Flags & LoadedObjects.PF_W) != 0) continue;
            nuint start = info->Address + (nuint)h->VirtualAddress;
            segments.Add((start, start + (nuint)h->MemorySize));
        }
        return 0;
    }

    /// <summary>Reads all of /proc/self/smaps into <paramref name="buffer"/> (grown as needed); its length, or -1.</summary>
    private static int ReadSmaps(ref byte* buffer, ref nuint capacity)
    {
        int fd = s_smapsFd;
        bool own = fd < 0;
        if (own) fd = Files.OpenAt(PathConsts.AT_FDCWD, "/proc/self/smaps", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        if (fd < 0) return -1;
        try
        {
            if (!own && Files.LSeek(fd, 0, 0 /* SEEK_SET */) < 0) return -1;
            nuint length = 0;
            while (true)
            {
                if (length == capacity)
                {
                    capacity *= 2;
                    buffer = (byte*)NativeMemory.Realloc(buffer, capacity);
                }
                long n = Files.Read(fd, buffer + length, capacity - length);
                if (n < 0) return -1;
                if (n == 0) return (int)length;
                length += (nuint)n;
            }
        }
        finally
        {
            if (own) FileDescriptor.Close(fd);
        }
    }

    /// <summary>
    /// The address ranges of smaps entries "START-END PERMS OFFSET DEV INODE PATH" that are
    /// private ('p'), not writable, backed by a file (inode not 0) and have "Anonymous: 0 kB".
    /// </summary>
    private static List<(nuint Start, nuint End)> CleanReadOnlyMappings(ReadOnlySpan<byte> maps)
    {
        var result = new List<(nuint, nuint)>();
        (nuint Start, nuint End)? current = null;
        ReadOnlySpan<byte> rest = maps;
        while (!rest.IsEmpty)
        {
            int eol = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? rest : rest[..eol];
            rest = eol < 0 ? default : rest[(eol + 1)..];
            if (line.StartsWith("Anonymous:"u8))
            {
                if (current is { } c && line["Anonymous:"u8.Length..].Trim((byte)' ').SequenceEqual("0 kB"u8)) result.Add(c);
                current = null;
                continue;
            }
            int dash = line.IndexOf((byte)'-');
            int space = line.IndexOf((byte)' ');
            if (dash <= 0 || space <= dash || !IsHex(line[..dash])) continue;
            current = null;
            string[] fields = System.Text.Encoding.ASCII.GetString(line).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5 || fields[1].Length != 4 || fields[1][1] == 'w' || fields[1][3] != 'p' || fields[4] == "0") continue;
            current = ((nuint)Convert.ToUInt64(fields[0][..dash], 16), (nuint)Convert.ToUInt64(fields[0][(dash + 1)..], 16));
        }
        return result;
    }

    private static bool IsHex(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
            if (!(b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f')) return false;
        return true;
    }
}
