using System.Text;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Vfs.Proc;

/// <summary>
/// /proc/PID/maps and /proc/PID/smaps (proc(5)), what debuggers, profilers, JVMs and ctypes read:
/// one line per VMA of the Sentry's record, a file mapping named by its path as the reader sees
/// it (" (deleted)" once unlinked; memfds "/memfd:NAME (deleted)") with the device and inode its
/// stat shows, shared anonymous memory as "/dev/zero (deleted)", and the heap and initial stack
/// as [heap] and [stack]. The vDSO pages are the host kernel's, mapped into the stub before the
/// application ran: their lines ([vvar], [vvar_vclock], [vdso], [vsyscall]) come from the host's
/// maps of the stub. smaps adds each VMA's page counts, read from the host's smaps of the stub
/// (which holds exactly the application's memory), summed over the host VMAs it covers.
/// </summary>
internal sealed partial class ProcFileSystem
{
    private static readonly string[] s_hostSpecialMappings = ["[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"];

    /// <summary>The text of /proc/PID/maps of <paramref name="task"/>'s address space, for <paramref name="reader"/>.</summary>
    private string MapsText(Task task, Task reader) => MapsOrSmaps(task, reader, smaps: false);

    /// <summary>The text of /proc/PID/smaps.</summary>
    private string SmapsText(Task task, Task reader) => MapsOrSmaps(task, reader, smaps: true);

    private string MapsOrSmaps(Task task, Task reader, bool smaps)
    {
        if ((AddressSpace?)task.AddressSpace is not { } mm) return "";
        int hostPid = task.Context?.HostPid ?? 0;
        var host = smaps || hostPid > 0 ? HostSmaps(hostPid) : [];
        var lines = new List<(ulong Start, ulong End, string Header)>();
        foreach (var v in mm.Vmas)
            lines.Add((v.Start, v.End, VmaLine(v, reader)));
        foreach (var h in host)
        {
            if (h.Name is { } n && s_hostSpecialMappings.Contains(n))
                lines.Add((h.Start, h.End, Vma.MapsLine(h.Start, h.End, h.Perms, 0, 0, 0, 0, n)));
        }
        lines.Sort((a, b) => a.Start.CompareTo(b.Start));
        var sb = new StringBuilder();
        foreach (var (start, end, header) in lines)
        {
            sb.Append(header).Append('\n');
            if (smaps) AppendSmapsFields(sb, start, end, host);
        }
        return sb.ToString();
    }

    /// <summary>The maps line of one of the Sentry's VMAs.</summary>
    private string VmaLine(Vma v, Task reader)
    {
        string? name = v.Name;
        uint major = 0, minor = 0;
        ulong ino = 0;
        if (v.File is { } f)
        {
            name ??= FileName(f, reader);
            if (f.Stat(out var attr) == 0)
            {
                major = Dev.DeviceRegistry.Major(attr.Dev);
                minor = Dev.DeviceRegistry.Minor(attr.Dev);
                ino = attr.Ino;
            }
        }
        else if ((v.Flags & (Vma.MapShared | Vma.MapAnonymous)) == (Vma.MapShared | Vma.MapAnonymous) && name == null)
        {
            // Linux backs shared anonymous memory with an unlinked shmem file of that name.
            name = "/dev/zero (deleted)";
            major = 0;
            minor = 1;
        }
        return Vma.MapsLine(v.Start, v.End, v.Perms, v.File != null || name == "/dev/zero (deleted)" ? v.Offset : 0, major, minor, ino, name);
    }

    /// <summary>
    /// The path of an open file as <paramref name="reader"/> sees it (d_path from its root): a
    /// file of a mounted file system by its path, one on an internal mount (memfd) as "/NAME",
    /// " (deleted)" appended once unlinked; an anonymous file by its anon name.
    /// </summary>
    private string FileName(FileDescription f, Task reader)
    {
        if (f.Location is not { } loc) return f.AnonymousName;
        if (loc.Mount.Parent != null || loc.Mount == Vfs.RootMount) return Vfs.PathOf(loc, reader.Fs.Root);
        return "/" + loc.Dentry.Name + (loc.Dentry.Dead ? " (deleted)" : "");
    }

    /// <summary>One VMA of the host's smaps of a stub.</summary>
    private sealed record HostVma(ulong Start, ulong End, string Perms, string? Name, List<(string Key, long Kb)> Fields, string VmFlags);

    /// <summary>The host's smaps of the stub <paramref name="pid"/> (empty when it cannot be read).</summary>
    private static List<HostVma> HostSmaps(int pid)
    {
        var list = new List<HostVma>();
        if (pid <= 0) return list;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/smaps");
        }
        catch (IOException) { return list; }
        catch (UnauthorizedAccessException) { return list; }
        HostVma? cur = null;
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            int colon = line.IndexOf(':');
            int dash = line.IndexOf('-');
            if (dash > 0 && (colon < 0 || dash < colon) && line.IndexOf(' ') > dash)
            {
                string[] parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                string range = parts[0];
                ulong start = Convert.ToUInt64(range[..range.IndexOf('-')], 16);
                ulong end = Convert.ToUInt64(range[(range.IndexOf('-') + 1)..], 16);
                cur = new HostVma(start, end, parts[1], parts.Length > 5 ? parts[5].Trim() : null, [], "");
                list.Add(cur);
            }
            else if (cur != null && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                list[^1] = cur = cur with { VmFlags = line["VmFlags:".Length..].Trim() };
            }
            else if (cur != null && colon > 0 && line.EndsWith(" kB", StringComparison.Ordinal)
                && long.TryParse(line[(colon + 1)..^3].Trim(), out long kb))
            {
                cur.Fields.Add((line[..colon], kb));
            }
        }
        return list;
    }

    /// <summary>
    /// The smaps fields of [start, end): Size from the range, the page counts summed over the host
    /// VMAs it overlaps (a host VMA larger than the range, where the host merged neighbours,
    /// counts in proportion), VmFlags of the host VMA at its start.
    /// </summary>
    private static void AppendSmapsFields(StringBuilder sb, ulong start, ulong end, List<HostVma> host)
    {
        var sums = new List<(string Key, long Kb)>();
        string flags = "";
        foreach (var h in host)
        {
            if (h.End <= start || h.Start >= end) continue;
            if (h.Start <= start) flags = h.VmFlags;
            ulong overlap = Math.Min(end, h.End) - Math.Max(start, h.Start);
            foreach (var (key, kb) in h.Fields)
            {
                long part = key is "KernelPageSize" or "MMUPageSize" ? kb : (long)((double)kb * overlap / (h.End - h.Start));
                int i = sums.FindIndex(s => s.Key == key);
                if (i < 0) sums.Add((key, part));
                else if (key is not ("KernelPageSize" or "MMUPageSize")) sums[i] = (key, sums[i].Kb + part);
            }
        }
        if (sums.Count == 0) sums.AddRange([("Size", 0), ("KernelPageSize", 4), ("MMUPageSize", 4), ("Rss", 0), ("Pss", 0)]);
        foreach (var (key, kb) in sums)
        {
            long value = key == "Size" ? (long)((end - start) / 1024) : kb;
            sb.Append((key + ":").PadRight(16)).Append(value.ToString().PadLeft(8)).Append(" kB\n");
        }
        if (flags.Length > 0) sb.Append("VmFlags: ").Append(flags).Append(" \n");
    }
}
