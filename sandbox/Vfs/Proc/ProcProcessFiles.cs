using System.Text;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Proc;

internal sealed partial class ProcFileSystem
{
    /// <summary>/proc/PID: the process's files (and task/TID for each thread).</summary>
    private Inode ProcessDirectory(ProcProcess p)
    {
        uint uid = p.Leader.Credentials.Euid, gid = p.Leader.Credentials.Egid;
        var entries = ProcessEntries(p, p.Leader, uid, gid);
        entries["task"] = () => new ProcDirectory(this,
            () => p.Threads.Select(t => t.Tid.ToString()),
            name => p.Threads.FirstOrDefault(t => t.Tid.ToString() == name) is { } th
                ? ProcDirectory.Fixed(this, ProcessEntries(p, th, uid, gid), 0x16d, uid, gid) : null,
            0x16d, uid, gid);
        return new ProcDirectory(this, () => entries.Keys, n => entries.TryGetValue(n, out var make) ? make() : null, 0x16d, uid, gid)
        {
            Process = p.Leader.ThreadGroup,
        };
    }

    private Dictionary<string, Func<Inode>> ProcessEntries(ProcProcess p, Task task, uint uid, uint gid)
    {
        Inode File(Func<Task, string> f, uint mode = 0x124) => new ProcFile(this, f, mode, uid, gid);
        Func<Inode> Text(Func<string> f, uint mode = 0x124) => () => File(_ => f(), mode);
        return new Dictionary<string, Func<Inode>>
        {
            ["stat"] = Text(() => StatLine(p, task)),
            ["status"] = Text(() => Status(p, task)),
            ["statm"] = Text(() => string.Join(' ', StubStatm(task)) + "\n"),
            ["cmdline"] = Text(() => p.Argv.Count == 0 ? "" : string.Join('\0', p.Argv) + "\0"),
            ["environ"] = () => File(_ => p.Environment.Count == 0 ? "" : string.Join('\0', p.Environment) + "\0", 0x100),
            ["comm"] = () => new ProcFile(this, _ => task.Name + "\n", 0x1a4, uid, gid, (writer, bytes) =>
            {
                // Like set_task_comm: the first 15 bytes, newline included; only within the writer's own process.
                if (writer.ThreadGroup != task.ThreadGroup) return -Errno.EINVAL;
                task.Name = Memory.LinuxText.Decode(bytes.AsSpan(0, Math.Min(bytes.Length, 15)));
                return bytes.Length;
            }),
            ["cgroup"] = Text(Cgroup.HostCgroups.ProcText),
            ["net"] = () => NetDirectory(uid, gid),
            ["ns"] = () => NamespaceDirectory(uid, gid),
            // user_namespaces(7): the sandbox's maps are written once, at boot; a later write is EPERM.
            ["uid_map"] = () => new ProcFile(this, _ => UserNamespace.Current.UidMapText, 0x1a4, uid, gid, (_, _) => -Errno.EPERM),
            ["gid_map"] = () => new ProcFile(this, _ => UserNamespace.Current.GidMapText, 0x1a4, uid, gid, (_, _) => -Errno.EPERM),
            ["setgroups"] = () => new ProcFile(this, _ => "allow\n", 0x1a4, uid, gid, (_, _) => -Errno.EPERM),
            ["limits"] = Text(() => (task.ThreadGroup?.Limits ?? new Rlimits()).ProcText()),
            ["maps"] = () => File(reader => MapsText(task, reader)),
            ["smaps"] = () => File(reader => SmapsText(task, reader)),
            ["mounts"] = () => File(t => Mounts(t)),
            ["mountinfo"] = () => File(t => MountInfo(t)),
            ["oom_score_adj"] = () => new ProcFile(this, _ => task.ThreadGroup.OomScoreAdj + "\n", 0x1a4, uid, gid,
                (writer, bytes) => WriteOomScoreAdj(writer, task, bytes)),
            ["oom_score"] = Text(() => "0\n"),
            ["loginuid"] = Text(() => "4294967295\n", 0x1a4),
            ["exe"] = () => new ProcSymlink(this, t => p.Exe is { } e ? Vfs.PathOf(e, t.Fs.Root) : null, _ => p.Exe, uid, gid),
            ["cwd"] = () => new ProcSymlink(this, t => Vfs.PathOf(task.Fs.Cwd, t.Fs.Root), _ => task.Fs.Cwd, uid, gid),
            ["root"] = () => new ProcSymlink(this, t => Vfs.PathOf(task.Fs.Root, t.Fs.Root), _ => task.Fs.Root, uid, gid),
            ["fd"] = () => new ProcDirectory(this,
                () => task.Fds.Snapshot().Select(e => e.Fd.ToString()),
                name => int.TryParse(name, out int fd) && task.Fds.Get(fd) is { } f ? FdLink(f, uid, gid) : null,
                0x140, uid, gid),
            ["fdinfo"] = () => new ProcDirectory(this,
                () => task.Fds.Snapshot().Select(e => e.Fd.ToString()),
                name => int.TryParse(name, out int fd) && task.Fds.Get(fd, out bool cloexec) is { } f
                    ? File(_ => $"pos:\t{Math.Max(0, f.Seek(task, 0, 1))}\nflags:\t0{Convert.ToString(f.StatusFlags | (cloexec ? OpenFlags.O_CLOEXEC : 0), 8)}\nmnt_id:\t{f.Location?.Mount.Id ?? 0}\n")
                    : null,
                0x16d, uid, gid),
        };
    }

    /// <summary>
    /// A write of /proc/PID/oom_score_adj (proc(5)): a decimal in [-1000, 1000] (EINVAL otherwise);
    /// going below the process's floor needs CAP_SYS_RESOURCE (EACCES), and a writer with it sets
    /// the floor, as Linux's __set_oom_adj.
    /// </summary>
    private static int WriteOomScoreAdj(Task writer, Task task, byte[] bytes)
    {
        string text = System.Text.Encoding.ASCII.GetString(bytes).Trim();
        if (!int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int value)
            || value < -1000 || value > 1000) return -Errno.EINVAL;
        var tg = task.ThreadGroup;
        const int CAP_SYS_RESOURCE = 24;
        bool privileged = writer.Credentials.HasCapability(CAP_SYS_RESOURCE);
        if (value < tg.OomScoreAdjMin && !privileged) return -Errno.EACCES;
        tg.OomScoreAdj = value;
        if (privileged) tg.OomScoreAdjMin = value;
        return bytes.Length;
    }

    /// <summary>
    /// statm(5) of the task's address space in pages (size resident shared text lib data dt): the
    /// host's numbers for its stub, which holds exactly the application's memory; zeros without one.
    /// </summary>
    private static long[] StubStatm(Task task)
    {
        var values = new long[7];
        int pid = task.Context?.HostPid ?? 0;
        if (pid <= 0) return values;
        try
        {
            string[] parts = File.ReadAllText($"/proc/{pid}/statm").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < values.Length && i < parts.Length; i++) long.TryParse(parts[i], out values[i]);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return values;
    }

    private Inode FdLink(FileDescription f, uint uid, uint gid)
        => new ProcSymlink(this,
            t => FileName(f, t),
            _ => f.Location,
            uid, gid,
            _ => f.Location == null ? f : null,
            // lr-x------ for a read-only fd, l-wx------ write-only, lrwx------ both (proc(5)).
            perm: (f.Readable ? 0x100u : 0) | (f.Writable ? 0x80u : 0) | 0x40u, size: 64);

    private static string StatLine(ProcProcess p, Task task)
    {
        long start = p.StartTimeNs / 10_000_000;
        // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
        var sb = new StringBuilder();
        // tty_nr in the old encoding of stat(5): minor bits 0-7 and 20-31, major bits 8-15.
        ulong ttyNr = 0;
        if (Host.HostFileDescription.ControllingTerminalOf(p.Session, out int tpgid) is ulong rdev)
        {
            uint major = Dev.DeviceRegistry.Major(rdev), minor = Dev.DeviceRegistry.Minor(rdev);
            ttyNr = (minor & 0xff) | (major << 8) | ((ulong)(minor & ~0xffu) << 12);
        }
        sb.Append($"{task.Tid} ({p.Comm}) {p.State} {p.ParentPid} {p.ProcessGroup} {p.Session} {ttyNr} {tpgid} 4194560 0 0 0 0 ");
        long[] statm = StubStatm(task);
        sb.Append($"0 0 0 0 20 0 {p.Threads.Count} 0 {start} {statm[0] * 4096} {statm[1]} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        return sb.ToString();
    }

    private static string Status(ProcProcess p, Task task)
    {
        var c = task.Credentials;
        string state = p.State switch { 'R' => "R (running)", 'S' => "S (sleeping)", 'T' => "T (stopped)", 'Z' => "Z (zombie)", _ => p.State + "" };
        var sb = new StringBuilder();
        sb.Append($"Name:\t{p.Comm}\nUmask:\t{Convert.ToString(task.Fs.Umask, 8).PadLeft(4, '0')}\nState:\t{state}\n");
        sb.Append($"Tgid:\t{p.Pid}\nNgid:\t0\nPid:\t{task.Tid}\nPPid:\t{p.ParentPid}\nTracerPid:\t0\n");
        sb.Append($"Uid:\t{c.Uid}\t{c.Euid}\t{c.Suid}\t{c.Fsuid}\nGid:\t{c.Gid}\t{c.Egid}\t{c.Sgid}\t{c.Fsgid}\n");
        // Linux ends the group list with a space, even an empty one (task_state).
        sb.Append($"FDSize:\t64\nGroups:\t{string.Join(' ', c.Groups)} \n");
        sb.Append($"NStgid:\t{p.Pid}\nNSpid:\t{task.Tid}\nNSpgid:\t{p.ProcessGroup}\nNSsid:\t{p.Session}\n");
        // The memory lines are the stub's, whose address space is the application's (a zombie has
        // none); the fields this kernel has are the host kernel's.
        var host = StubStatus(task);
        if (host.ContainsKey("Kthread")) sb.Append("Kthread:\t0\n");
        long peakKb = Math.Max(task.PeakRssKb(), task.ThreadGroup?.MaxRssKb ?? 0);
        if (host.Count > 0)
        {
            foreach (string key in s_memoryLines)
            {
                if (key == "VmHWM") sb.Append($"VmHWM:\t{peakKb,8} kB\n");
                else if (host.TryGetValue(key, out string? v)) sb.Append(key).Append(":\t").Append(v).Append('\n');
            }
        }
        sb.Append($"Threads:\t{p.Threads.Count}\n");
        if (task.ThreadGroup is { } group)
        {
            var sig = task.SignalStatus();
            sb.Append($"SigQ:\t{sig.Queued}/{group.Limits.Get(Rlimits.SIGPENDING).Cur}\nSigPnd:\t{sig.Pending:x16}\nShdPnd:\t{sig.SharedPending:x16}\n");
            sb.Append($"SigBlk:\t{sig.Blocked:x16}\nSigIgn:\t{sig.Ignored:x16}\nSigCgt:\t{sig.Caught:x16}\n");
        }
        sb.Append($"CapInh:\t{c.InheritableCaps:x16}\nCapPrm:\t{c.PermittedCaps:x16}\nCapEff:\t{c.EffectiveCaps:x16}\nCapBnd:\t{c.BoundingCaps:x16}\nCapAmb:\t{c.AmbientCaps:x16}\n");
        sb.Append($"NoNewPrivs:\t{(task.NoNewPrivileges ? 1 : 0)}\nSeccomp:\t{task.Seccomp.Mode}\nSeccomp_filters:\t{task.Seccomp.Filters.Length}\n");
        var affinity = task.CpuAffinity;
        foreach (string key in s_tailLines)
        {
            if (key == "Cpus_allowed") sb.Append($"Cpus_allowed:\t{CpuSet.ToHex(affinity)}\n");
            else if (key == "Cpus_allowed_list") sb.Append($"Cpus_allowed_list:\t{CpuSet.ToList(affinity)}\n");
            else if (host.TryGetValue(key, out string? v)) sb.Append(key).Append(":\t").Append(v).Append('\n');
        }
        return sb.ToString();
    }

    private static readonly string[] s_memoryLines =
    [
        "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmData", "VmStk",
        "VmExe", "VmLib", "VmPTE", "VmSwap", "HugetlbPages", "CoreDumping", "THP_enabled", "untag_mask",
    ];

    private static readonly string[] s_tailLines =
    [
        "Speculation_Store_Bypass", "SpeculationIndirectBranch", "Cpus_allowed", "Cpus_allowed_list", "Mems_allowed",
        "Mems_allowed_list", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches",
    ];

    /// <summary>The host's /proc/PID/status of the task's stub, by field (empty without a stub).</summary>
    private static Dictionary<string, string> StubStatus(Task task)
    {
        var result = new Dictionary<string, string>();
        int pid = task.Context?.HostPid ?? 0;
        if (pid <= 0 || task.Exited) return result;
        try
        {
            foreach (string line in File.ReadAllLines($"/proc/{pid}/status"))
            {
                int colon = line.IndexOf(':');
                if (colon > 0) result[line[..colon]] = line[(colon + 1)..].TrimStart('\t');
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return result;
    }

    private static string MountOptions(Mount m)
    {
        var o = new List<string> { m.ReadOnly ? "ro" : "rw" };
        if ((m.Flags & MountFlags.NoSuid) != 0) o.Add("nosuid");
        if ((m.Flags & MountFlags.NoDev) != 0) o.Add("nodev");
        if ((m.Flags & MountFlags.NoExec) != 0) o.Add("noexec");
        if ((m.Flags & MountFlags.StrictAtime) == 0) o.Add("relatime");
        if (m.FileSystem.ShowOptions is { Length: > 0 } own) o.Add(own);
        return string.Join(',', o);
    }

    private string Mounts(Task t)
    {
        var sb = new StringBuilder();
        foreach (var m in Vfs.Mounts())
        {
            string path = Vfs.PathOf(new VfsPath(m, m.Root), t.Fs.Root);
            if (path.StartsWith("(unreachable)", StringComparison.Ordinal)) continue;
            sb.Append($"{(m == Vfs.RootMount ? "none" : m.Source)} {path} {m.FileSystem.TypeName} {MountOptions(m)} 0 0\n");
        }
        return sb.ToString();
    }

    /// <summary>mountinfo's optional fields (proc_pid_mountinfo(5)): " shared:N", " master:N", " unbindable".</summary>
    private static string PropagationFields(Mount m) => m.Propagation switch
    {
        MountPropagation.Shared => $" shared:{m.PeerGroup}",
        MountPropagation.Slave when m.MasterGroup != 0 => $" master:{m.MasterGroup}",
        MountPropagation.Unbindable => " unbindable",
        _ => "",
    };

    /// <summary>Space, tab, newline and backslash as octal escapes, as the kernel's seq_path writes them.</summary>
    private static string MountInfoEscape(string s)
    {
        if (s.IndexOfAny([' ', '\t', '\n', '\\']) < 0) return s;
        return s.Replace("\\", "\\134").Replace(" ", "\\040").Replace("\t", "\\011").Replace("\n", "\\012");
    }

    private string MountInfo(Task t)
    {
        var sb = new StringBuilder();
        foreach (var m in Vfs.Mounts())
        {
            string path = Vfs.PathOf(new VfsPath(m, m.Root), t.Fs.Root);
            if (path.StartsWith("(unreachable)", StringComparison.Ordinal)) continue;
            ulong dev = m.FileSystem.DeviceId;
            string root = m.ShownRoot ?? VirtualFileSystem.FileSystemPathOf(m.Root);
            sb.Append($"{m.Id} {m.Parent?.Id ?? 1} 0:{dev} {MountInfoEscape(root)} {MountInfoEscape(path)} {MountOptions(m)}{PropagationFields(m)} - {m.FileSystem.TypeName} {m.Source} {(m.ReadOnly ? "ro" : "rw")}{(m.FileSystem.ShowOptions is { Length: > 0 } own ? "," + own : "")}\n");
        }
        return sb.ToString();
    }
}
