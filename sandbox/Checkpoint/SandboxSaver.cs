using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Event;
using RunscNet.Sentry.Vfs.Gofer;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.Sentry.Vfs.Pipe;
using RunscNet.Sentry.Vfs.Socket;
using RunscNet.StateFile.Checkpoint;
using Task = RunscNet.Sentry.Kernel.Task;

// Lock order: the saver runs under SentrySandbox._checkpointLock (Boot/SentrySandbox.cs) and
// takes Kernel.TaskLock on its own; the restorer's error list is a leaf.

namespace RunscNet.Sentry.Checkpoint;

/// <summary>
/// Turns a stopped kernel (every task parked, see <see cref="CheckpointGate"/>) into an image
/// graph, adding memory pages to the writer as it goes. What it cannot save yet throws
/// <see cref="CheckpointRefusedException"/> naming the object and the process, before anything
/// is written for good (the caller writes to a temporary file).
/// </summary>
internal sealed class SandboxSaver
{
    private readonly Kernel.Kernel _kernel;
    private readonly IReadOnlyDictionary<Task, TaskSnapshot> _snapshots;
    private readonly int[] _stdio;
    private readonly int _consoleFd;
    private readonly SandboxImage _image = new();
    private readonly Dictionary<FileDescription, int> _files = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Pipe, int> _pipes = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<UnixSocket, int> _sockets = new(ReferenceEqualityComparer.Instance);
    private ImageWriter _writer = null!;
    private HashSet<FileSystem>? _tmpfs;

    /// <summary>
    /// A saver for <paramref name="kernel"/>, whose tasks' registers are <paramref name="snapshots"/>;
    /// <paramref name="stdio"/> are boot's host fds 0-2, <paramref name="consoleFd"/> the console's (-1: none).
    /// </summary>
    public SandboxSaver(Kernel.Kernel kernel, IReadOnlyDictionary<Task, TaskSnapshot> snapshots, int[] stdio, int consoleFd)
    {
        _kernel = kernel;
        _snapshots = snapshots;
        _stdio = stdio;
        _consoleFd = consoleFd;
    }

    /// <summary>Checks everything can be saved and builds the graph, adding pages to <paramref name="writer"/>.</summary>
    public SandboxImage Save(ImageWriter writer)
    {
        _writer = writer;
        var all = _kernel.ThreadGroups();
        // Refusals first, so nothing is read or written for an image that cannot be made.
        // SysV shared memory attachments are MAP_SHARED mappings of a segment's memfd.
        lock (_kernel.Ipc.Lock)
            foreach (var seg in _kernel.Ipc.SharedMemory.All) _segmentsByFile[seg.File] = seg;
        // An exec'd process that exited was the exec caller's to collect, and the caller is gone
        // after a restore: not saved.
        var groups = all.Where(g => !(g.Zombie && g.Parent == null && !g.IsInit)).ToList();
        foreach (var g in groups) CheckSavable(g);
        if (_consoleFd >= 0) _image.Console = ConsoleState.Save(_consoleFd);
        var reader = groups.First(g => !g.Zombie && g.Tasks.Count > 0).Tasks[0];
        _image.Ipc = IpcContents.Save(_kernel, reader, writer, out _segmentIndex);
        _image.LastPid = all.Count == 0 ? 1 : all.Max(g => g.Tgid);
        if (groups.FirstOrDefault(g => !g.Zombie && g.Tasks.Count > 0) is { } live)
            _image.Tmpfs = TmpfsContents.Save(_kernel, live.Tasks[0], writer);
        try
        {
            foreach (var g in OrderedParentsFirst(groups)) _image.Processes.Add(SaveProcess(g));
        }
        finally
        {
            ReleaseReopened();
        }
        CheckEveryLockSaved();
        return _image;
    }

    private readonly Dictionary<FileDescription, Kernel.Ipc.SharedMemorySegment> _segmentsByFile = new(ReferenceEqualityComparer.Instance);
    private Dictionary<Kernel.Ipc.SharedMemorySegment, int> _segmentIndex = new(ReferenceEqualityComparer.Instance);

    /// <summary>The process whose files are being saved (files in flight on its sockets are saved in its name).</summary>
    private int _savingPid;
    private Task? _savingTask;

    private readonly HashSet<FdTable> _savedTables = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Every lock on a saved file must belong to a saved description or a saved process's fd
    /// table: a flock held only through a memory mapping, or by a description in flight, is not.
    /// </summary>
    private void CheckEveryLockSaved()
    {
        var seen = new HashSet<Inode>(ReferenceEqualityComparer.Instance);
        foreach (var (f, index) in _files)
        {
            if (f.Inode is not { } inode || !seen.Add(inode)) continue;
            foreach (var owner in Vfs.Locks.FileLocks.Owners(inode))
            {
                bool saved = owner is FileDescription d ? _files.ContainsKey(d) : owner is FdTable table && _savedTables.Contains(table);
                if (!saved)
                    throw new CheckpointRefusedException($"checkpoint: a file lock on {Describe(f)} is held by an open file or process that is not saved (e.g. an open file kept only by a memory mapping), which cannot be saved yet");
            }
        }
    }

    private static IEnumerable<ThreadGroup> OrderedParentsFirst(IReadOnlyList<ThreadGroup> groups)
    {
        var done = new HashSet<int>();
        var list = new List<ThreadGroup>();
        void Add(ThreadGroup g)
        {
            if (!done.Add(g.Tgid)) return;
            if (g.Parent != null && groups.Contains(g.Parent)) Add(g.Parent);
            list.Add(g);
        }
        foreach (var g in groups) Add(g);
        return list;
    }

    private void CheckSavable(ThreadGroup g)
    {
        int pid = g.Tgid;
        if (g.Zombie) return;
        if (g.Tasks.Count == 0) throw Refuse(pid, "has no threads left but is not a zombie yet");
        if (g.Tasks[0].Tid != pid) throw Refuse(pid, "has threads but its main thread has exited, which cannot be saved yet");
        if (g.Tasks.Count > 1 && _kernel.Platform is PtracePlatform) throw Refuse(pid, "has threads, which the ptrace platform cannot restore");
        foreach (var thread in g.Tasks)
        {
            if (!_snapshots.ContainsKey(thread)) throw Refuse(pid, $"thread {thread.Tid} did not stop at a safe point");
            // The container's linux.seccomp is given again at restore from the bundle; filters a
            // program installed itself (seccomp(2)) are not saved.
            if (thread.Seccomp.Mode == Kernel.Seccomp.SeccompState.ModeStrict || thread.Seccomp.Filters.Any(f => f is Kernel.Seccomp.BpfFilter))
                throw Refuse(pid, $"thread {thread.Tid} installed seccomp filters of its own, which cannot be saved yet");
            if (!ReferenceEquals(thread.Fds, g.Tasks[0].Fds) || !ReferenceEquals(thread.Fs, g.Tasks[0].Fs))
                throw Refuse(pid, $"thread {thread.Tid} has its own fd table or fs context (clone without CLONE_FILES/CLONE_FS), which cannot be saved yet");
        }
        if (g.Stopped) throw Refuse(pid, "is stopped by a signal; stopped processes cannot be saved yet");
        var t = g.Tasks[0];
        if (!_snapshots.ContainsKey(t)) throw Refuse(pid, "did not stop at a safe point");
        if (t.Fs.Root != _kernel.Vfs.RootPath) throw Refuse(pid, "has changed its root directory (chroot), which cannot be saved yet");
        if (g.AddressSpace is not { } mm) throw Refuse(pid, "has no address space");
        foreach (var v in mm.Vmas)
        {
            if ((v.Flags & Vma.MapShared) != 0 && v.File != null && _segmentsByFile.ContainsKey(v.File)) continue;
            if ((v.Flags & Vma.MapShared) != 0 && v.Name != null && v.Name.StartsWith("/SYSV", StringComparison.Ordinal))
                throw Refuse(pid, $"shared mapping {v.Start:x}-{v.End:x} ({v.Name}) is of a SysV shared memory segment already removed (IPC_RMID) and detached by its attacher, which cannot be saved yet");
            if ((v.Flags & Vma.MapShared) != 0)
                throw Refuse(pid, $"shared mapping {v.Start:x}-{v.End:x} ({v.Name ?? v.File?.AnonymousName ?? "anonymous"}) cannot be saved yet");
            if (v.File != null) FilePathOf(pid, v.File, $"mapping {v.Start:x}-{v.End:x}");
        }
        foreach (var (fd, f) in t.Fds.Snapshot()) Classify(pid, fd, f);
    }

    private static CheckpointRefusedException Refuse(int pid, string what) => new($"checkpoint: pid {pid} {what}");

    /// <summary>The path a gofer-backed file is reopened by; refuses any other file.</summary>
    private string FilePathOf(int pid, FileDescription f, string what)
    {
        if (f.Location is not { } loc || (f.Inode is not GoferInode && f.Inode is not Vfs.Overlay.OverlayInode && !(f.Inode is { } i && TmpfsContents.IsTmpfs(i) && (_tmpfs ??= TmpfsContents.Mounted(_kernel.Vfs)).Contains(i.FileSystem))))
            throw Refuse(pid, $"{what} ({Describe(f)}) cannot be saved yet: only files of the container's root, bind mounts and tmpfs mounts can");
        if (loc.Dentry.Dead) throw Refuse(pid, $"{what}: file {Describe(f)} was deleted while open, which cannot be saved yet");
        string path = _kernel.Vfs.PathOf(loc, _kernel.Vfs.RootPath);
        if (!path.StartsWith('/')) throw Refuse(pid, $"{what}: file {path} is outside the container's root");
        return path;
    }

    /// <summary>The path an inotify watch is added again by; refuses a watch on any other file.</summary>
    private string WatchPathOf(int pid, string what, Vfs.Inotify.InotifyWatch w)
    {
        string where = w.At is { } a ? _kernel.Vfs.PathOf(a, _kernel.Vfs.RootPath) : "a file";
        if (w.At is not { } at || (w.Inode is not GoferInode && w.Inode is not Vfs.Overlay.OverlayInode
                && !(TmpfsContents.IsTmpfs(w.Inode) && (_tmpfs ??= TmpfsContents.Mounted(_kernel.Vfs)).Contains(w.Inode.FileSystem))))
            throw Refuse(pid, $"{what} (inotify) watches {where}, which cannot be saved yet: only watches on files of the container's root, bind mounts and tmpfs mounts can");
        if (at.Dentry.Dead || !ReferenceEquals(at.Dentry.Inode, w.Inode)) throw Refuse(pid, $"{what} (inotify) watches {where}, a file deleted or replaced since, which cannot be saved yet");
        if (!where.StartsWith('/')) throw Refuse(pid, $"{what} (inotify) watches {where}, outside the container's root");
        return where;
    }

    private string Describe(FileDescription f) =>
        f.Location is { } loc ? _kernel.Vfs.PathOf(loc, _kernel.Vfs.RootPath) : f.AnonymousName;

    /// <summary>The kind of file an fd refers to, refusing what cannot be saved.</summary>
    private int Classify(int pid, int fd, FileDescription f, int depth = 0, string? watchedBy = null)
    {
        string what = watchedBy ?? $"fd {fd}";
        switch (f)
        {
            case var _ when Vfs.Tmpfs.MemfdFileSystem.IsMemfd(f.Inode):
                return FileKind.Memfd;
            case PipeFile p:
                if (p.Readable == p.Writable) throw Refuse(pid, $"{what} (a FIFO opened read-write) cannot be saved yet");
                if (p.Location != null) throw Refuse(pid, $"{what} (named pipe {Describe(f)}) cannot be saved yet");
                return p.Readable ? FileKind.PipeRead : FileKind.PipeWrite;
            case HostFileDescription console when IsConsole(console):
                return FileKind.Console;
            case HostFileDescription h:
                if (StdioIndexOf(h, fd) < 0 && h.ExecStdio && !h.IsTty) return FileKind.Path;   // /dev/null after restore
                if (StdioIndexOf(h, fd) < 0) throw Refuse(pid, $"{what} ({(h.IsTty ? $"terminal {h.AnonymousName}" : "a host file")} that is not the container's {(h.IsTty ? "console" : "stdio")}) cannot be saved yet");
                if (h.IsTty) throw Refuse(pid, $"{what} (a terminal) cannot be saved yet");
                return FileKind.Stdio;
            case HostRegularFile:
                FilePathOf(pid, f, what);
                return FileKind.Path;
            case UnixSocket u:
                if (u.CheckpointRefusal() is { } why) throw Refuse(pid, $"{what} ({why}) cannot be saved yet");
                // Files in flight (SCM_RIGHTS) are saved as the descriptions they are.
                var inFlight = u.InFlightFiles();
                if (inFlight.Count > 0 && depth > 4) throw Refuse(pid, $"{what} (unix sockets passing files in flight nested too deep) cannot be saved");
                foreach (var passed in inFlight)
                    Classify(pid, -1, passed, depth + 1, $"{what} (unix socket) has a file in flight (SCM_RIGHTS), which");
                return FileKind.UnixSocket;
            case HostSocket hs:
                if (hs.CheckpointRefusal() is { } refused) throw Refuse(pid, $"{what} ({refused}) cannot be saved yet");
                return FileKind.HostSocket;
            case Vfs.Inotify.InotifyFile inotify:
                foreach (var w in inotify.CheckpointState().Watches) WatchPathOf(pid, what, w);
                return FileKind.Inotify;
            case EventFdFile:
                return FileKind.EventFd;
            case TimerFdFile:
                return FileKind.TimerFd;
            case SignalFdFile:
                return FileKind.SignalFd;
            case EpollFile e:
                if (depth > 4) throw Refuse(pid, $"{what} (epoll instances nested too deep) cannot be saved");
                foreach (var interest in e.Interests())
                    Classify(pid, interest.Fd, interest.File, depth + 1, $"{what} (epoll) watches fd {interest.Fd}, which");
                return FileKind.Epoll;
            default:
                if (f.Location != null && f.Inode is { } inode && inode.Stat(out var attr) == 0 && LinuxMode.IsChr(attr.Mode))
                    return FileKind.Path;   // /dev/null and friends: reopened by path
                string kind = f.Location != null ? Describe(f) : f.AnonymousName;
                throw Refuse(pid, $"{what} ({ShortKind(kind)}) cannot be saved yet");
        }
    }

    /// <summary>What an fd is, as a user calls it: "epoll", "socket", "timerfd", or the file's path.</summary>
    private static string ShortKind(string anon) => anon switch
    {
        "anon_inode:[eventpoll]" => "epoll",
        _ when anon.StartsWith("anon_inode:[", StringComparison.Ordinal) => anon[12..^1],
        _ when anon.StartsWith("anon_inode:", StringComparison.Ordinal) => anon[11..],
        _ when anon.StartsWith("socket:", StringComparison.Ordinal) => "socket",
        _ when anon.StartsWith("nsfs:", StringComparison.Ordinal) => "namespace file",
        _ => anon,
    };

    /// <summary>True if <paramref name="h"/> is a description of the container's console (same host terminal).</summary>
    private unsafe bool IsConsole(HostFileDescription h)
    {
        LinuxStat a, b;
        return _consoleFd >= 0 && h.RawHostFd >= 0 && HostFiles.fstat(h.RawHostFd, &a) == 0 && HostFiles.fstat(_consoleFd, &b) == 0
            && a.Rdev == b.Rdev && a.Dev == b.Dev && a.Ino == b.Ino;
    }

    /// <summary>Which of boot's stdio fds <paramref name="h"/> is (same host file), preferring <paramref name="fd"/>; -1 if none.</summary>
    private unsafe int StdioIndexOf(HostFileDescription h, int fd)
    {
        LinuxStat a, b;
        if (h.RawHostFd < 0 || HostFiles.fstat(h.RawHostFd, &a) != 0) return -1;
        int found = -1;
        for (int i = 0; i < _stdio.Length && i < 3; i++)
        {
            if (_stdio[i] < 0 || HostFiles.fstat(_stdio[i], &b) != 0) continue;
            if (a.Dev != b.Dev || a.Ino != b.Ino) continue;
            if (i == fd) return i;
            if (found < 0) found = i;
        }
        return found;
    }

    private ProcessImage SaveProcess(ThreadGroup g)
    {
        var p = new ProcessImage
        {
            Pid = g.Tgid,
            ParentPid = g.Parent?.Tgid ?? 0,
            ProcessGroup = g.ProcessGroup.Id,
            Session = g.Session.Id,
            Zombie = g.Zombie,
            ExitStatus = g.ExitStatus,
            ExitSignal = g.ExitSignal,
            OomScoreAdj = g.OomScoreAdj,
            OomScoreAdjMin = g.OomScoreAdjMin,
            IsSubreaper = g.IsSubreaper,
            Exec = g.Parent == null && !g.IsInit,
            Dumpable = g.Dumpable,
            Comm = g.Leader.Name,
        };
        for (int r = 0; r < Rlimits.Count; r++)
        {
            var (cur, max) = g.Limits.Get(r);
            p.Limits.Add(new RlimitImage { Resource = r, Soft = cur, Hard = max });
        }
        if (g.Zombie) return p;
        var (remaining, interval) = g.RealTimer.Get();
        p.RealTimerRemainingNs = Nanos(remaining);
        p.RealTimerIntervalNs = Nanos(interval);
        // CPU-time timers: the CPU time left (the tasks are stopped, so it stands still) and the
        // CPU time used, which the restored process's CPU clocks go on from.
        (p.VirtualTimerRemainingNs, p.VirtualTimerIntervalNs) = g.VirtualTimer.Get();
        (p.ProfTimerRemainingNs, p.ProfTimerIntervalNs) = g.ProfTimer.Get();
        p.CpuNanos = g.Leader.CpuNanos();
        p.ChildrenCpuNanos = g.ChildrenCpuNanos;
        foreach (var timer in g.PosixTimers.Snapshot())
        {
            var (value, every) = timer.Get();
            p.PosixTimers.Add(new PosixTimerImage
            {
                Id = timer.Id, Clock = timer.Clock, Notify = timer.Notify, Signal = timer.Signo, Value = timer.Value,
                TargetTid = timer.Target?.Tid ?? 0, RemainingNs = value, IntervalNs = every,
            });
        }
        lock (_kernel.TaskLock)
        {
            for (int s = 1; s <= Signal.Max; s++)
            {
                var a = g.Handlers.Actions[s];
                p.Handlers.Add(new SignalActionImage { Handler = a.Handler, Flags = a.Flags, Restorer = a.Restorer, Mask = a.Mask });
            }
            foreach (var info in g.Pending.Snapshot()) p.Pending.Add(new SignalInfoImage { SigInfo = info.Bytes.ToArray() });
        }
        var t = g.Tasks[0];
        (_savingPid, _savingTask) = (g.Tgid, t);
        foreach (var thread in g.Tasks) p.Tasks.Add(SaveTask(thread, _snapshots[thread]));
        p.Cwd = _kernel.Vfs.PathOf(t.Fs.Cwd, t.Fs.Root);
        p.Umask = t.Fs.Umask;
        foreach (var (fd, f) in t.Fds.Snapshot())
        {
            t.Fds.Get(fd, out bool cloexec);
            p.Fds.Add(new FdImage { Fd = fd, File = SaveFile(g.Tgid, fd, f, t), CloseOnExec = cloexec });
        }
        // POSIX record locks belong to the fd table (all of a process's threads share it here).
        _savedTables.Add(t.Fds);
        var lockedInodes = new HashSet<Inode>(ReferenceEqualityComparer.Instance);
        foreach (var (fd, f) in t.Fds.Snapshot())
        {
            if (f.Inode is not { } inode || !lockedInodes.Add(inode)) continue;
            var (_, ranges) = Vfs.Locks.FileLocks.OwnedBy(inode, t.Fds);
            if (ranges.Count == 0) continue;
            int file = _files[f];
            if (_image.Files[file].Kind != FileKind.Path)
                throw Refuse(g.Tgid, $"fd {fd} ({Describe(f)}) holds a record lock on a file that is not reopened by path, which cannot be saved yet");
            foreach (var (type, start, end) in ranges)
                p.RecordLocks.Add(new RecordLockImage { File = file, Type = type, Start = start, End = end });
        }
        p.Memory = SaveMemory(g, t);
        return p;
    }

    private static long Nanos(TimeSpan t) => t.Ticks <= 0 ? 0 : t.Ticks > long.MaxValue / 100 ? long.MaxValue : t.Ticks * 100;

    private TaskImage SaveTask(Task t, TaskSnapshot s)
    {
        var c = t.Credentials;
        var groups = new byte[c.Groups.Length * 4];
        for (int i = 0; i < c.Groups.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(groups.AsSpan(i * 4), c.Groups[i]);
        Registers regs = s.Regs;
        var image = new TaskImage
        {
            Tid = t.Tid,
            Name = t.Name,
            Registers = MemoryMarshal.AsBytes(new ReadOnlySpan<Registers>(ref regs)).ToArray(),
            SignalMask = s.SignalMask,
            AltStackSp = t.AltStack.Sp,
            AltStackSize = t.AltStack.Size,
            AltStackFlags = t.AltStack.Flags,
            ClearChildTid = t.ClearChildTid,
            RobustList = t.RobustList,
            NoNewPrivileges = t.NoNewPrivileges,
            Nice = t.Nice,
            ParentDeathSignal = t.ParentDeathSignal,
            Credentials = new CredentialsImage
            {
                Uid = c.Uid, Gid = c.Gid, Euid = c.Euid, Egid = c.Egid, Suid = c.Suid, Sgid = c.Sgid, Fsuid = c.Fsuid, Fsgid = c.Fsgid,
                Groups = groups, Effective = c.EffectiveCaps, Permitted = c.PermittedCaps, Inheritable = c.InheritableCaps,
                Bounding = c.BoundingCaps, Ambient = c.AmbientCaps, SecureBits = (int)c.SecureBits,
            },
        };
        FpuState fpu = s.Fpu;
        unsafe { image.Fpu = new ReadOnlySpan<byte>(&fpu, FpuState.Size).ToArray(); }
        lock (_kernel.TaskLock)
            foreach (var info in t.Pending.Snapshot()) image.Pending.Add(new SignalInfoImage { SigInfo = info.Bytes.ToArray() });
        return image;
    }

    private int SaveFile(int pid, int fd, FileDescription f, Task t)
    {
        if (_files.TryGetValue(f, out int id)) return id;
        int kind = Classify(pid, fd, f);
        var image = new FileImage { Kind = kind, Flags = f.StatusFlags };
        // Registered before its contents, so an epoll instance's watched files can refer back.
        id = _image.Files.Count;
        _image.Files.Add(image);
        _files[f] = id;
        if (f.Inode is { } lockedInode)
        {
            var (flock, ofd) = Vfs.Locks.FileLocks.OwnedBy(lockedInode, f);
            if ((flock >= 0 || ofd.Count > 0) && kind != FileKind.Path)
                throw Refuse(pid, $"fd {fd} ({Describe(f)}) holds a file lock on a file that is not reopened by path, which cannot be saved yet");
            image.Flock = flock + 1;
            foreach (var (type, start, end) in ofd) image.OfdLocks.Add(new RecordLockImage { Type = type, Start = start, End = end });
        }
        switch (kind)
        {
            case FileKind.Stdio:
                image.StdioIndex = StdioIndexOf((HostFileDescription)f, fd);
                break;
            case FileKind.PipeRead or FileKind.PipeWrite:
                var pipe = ((PipeFile)f).Pipe;
                if (!_pipes.TryGetValue(pipe, out int pipeId))
                {
                    pipeId = _image.Pipes.Count;
                    _image.Pipes.Add(new PipeImage { Data = pipe.Buffered(), Capacity = pipe.Capacity });
                    _pipes[pipe] = pipeId;
                }
                image.Pipe = pipeId;
                break;
            case FileKind.UnixSocket:
                image.Socket = SocketIndex((UnixSocket)f);
                break;
            case FileKind.HostSocket:
                image.HostSocket = ((HostSocket)f).SaveCheckpoint();
                break;
            case FileKind.Inotify:
                var (watches, events, nextWd) = ((Vfs.Inotify.InotifyFile)f).CheckpointState();
                image.Inotify = new InotifyImage { Events = events, NextWd = nextWd };
                foreach (var w in watches)
                    image.Inotify.Watches.Add(new InotifyWatchImage { Wd = w.Descriptor, Path = WatchPathOf(pid, $"fd {fd}", w), Mask = w.Mask });
                break;
            case FileKind.EventFd:
                (image.EventCount, image.Semaphore) = ((EventFdFile)f).State;
                break;
            case FileKind.TimerFd:
                var timerFd = (TimerFdFile)f;
                image.Clock = timerFd.Clock;
                timerFd.Get(out long remaining, out long interval);
                image.TimerRemainingNs = remaining;
                image.TimerIntervalNs = interval;
                image.Expirations = timerFd.Expirations;
                break;
            case FileKind.SignalFd:
                image.SignalMask = ((SignalFdFile)f).Mask;
                break;
            case FileKind.Memfd:
                SaveMemfd(pid, fd, f, t, image);
                break;
            case FileKind.Epoll:
                foreach (var interest in ((EpollFile)f).Interests())
                    image.Interests.Add(new EpollInterestImage
                    {
                        Fd = interest.Fd, File = SaveFile(pid, interest.Fd, interest.File, t),
                        Events = interest.Events, Data = interest.Data, Disabled = interest.Disabled,
                    });
                break;
            default:
                image.Path = f is HostRegularFile ? FilePathOf(pid, f, $"fd {fd}") : f is HostFileDescription { ExecStdio: true } ? "/dev/null" : Describe(f);
                if (f is HostRegularFile)
                {
                    long offset = f.Seek(t, 0, 1 /* SEEK_CUR */);
                    image.Offset = offset < 0 ? 0 : offset;
                    image.Size = f.Stat(out var attr) == 0 ? attr.Size : -1;
                }
                break;
        }
        return id;
    }

    private readonly HashSet<Inode> _memfds = new(ReferenceEqualityComparer.Instance);

    /// <summary>A memfd's name, mode, owner, seals, offset and bytes (pages of the page stream, zero pages included).</summary>
    private void SaveMemfd(int pid, int fd, FileDescription f, Task t, FileImage image)
    {
        var inode = (Vfs.Tmpfs.TmpfsInode)f.Inode!;
        // Two descriptions of one memfd (a reopen through /proc/self/fd) would come back as two files.
        if (!_memfds.Add(inode)) throw Refuse(pid, $"fd {fd} ({Describe(f)}) is a second open file of a memfd, which cannot be saved yet");
        if (inode.Stat(out var attr) != 0) throw Refuse(pid, $"fd {fd} ({Describe(f)}) cannot be read");
        string name = f.Location?.Dentry.Name ?? "memfd:";
        image.MemfdName = name.StartsWith("memfd:", StringComparison.Ordinal) ? name[6..] : name;
        image.Mode = attr.Mode & 0xfff;
        image.Uid = attr.Uid;
        image.Gid = attr.Gid;
        image.Seals = inode.Seals;
        image.Size = attr.Size;
        long offset = f.Seek(t, 0, 1 /* SEEK_CUR */);
        image.Offset = offset < 0 ? 0 : offset;
        image.FirstPage = _writer.PageCount;
        // Read through a description of its own: this one may be write-only.
        if (inode.Open(t, OpenFlags.O_RDONLY, out var reader) != 0 || reader == null)
            throw Refuse(pid, $"fd {fd} ({Describe(f)}) cannot be read");
        try
        {
            var page = new byte[CheckpointImage.PageSize];
            for (long at = 0; at < attr.Size; at += page.Length)
            {
                Array.Clear(page);
                long n = reader.PRead(t, page, at);
                if (n < 0) throw Refuse(pid, $"fd {fd} ({Describe(f)}): reading the memfd failed: errno {-n}");
                _writer.AddPage(page);
            }
        }
        finally
        {
            reader.DecRef();
        }
    }

    /// <summary>
    /// The index of <paramref name="socket"/> in the image, adding it and every socket it reaches
    /// (peers, pending connections) when new.
    /// </summary>
    private int SocketIndex(UnixSocket socket)
    {
        if (_sockets.TryGetValue(socket, out int known)) return known;
        var added = new List<UnixSocket>();
        var stack = new Stack<UnixSocket>();
        stack.Push(socket);
        while (stack.Count > 0)
        {
            var s = stack.Pop();
            if (_sockets.ContainsKey(s)) continue;
            _sockets[s] = _image.UnixSockets.Count;
            _image.UnixSockets.Add(null!);
            added.Add(s);
            foreach (var r in s.CheckpointReferences()) stack.Push(r);
        }
        foreach (var s in added)
            _image.UnixSockets[_sockets[s]] = s.SaveCheckpoint(x => _sockets[x], at => _kernel.Vfs.PathOf(at, _kernel.Vfs.RootPath),
                f => SaveFile(_savingPid, -1, f, _savingTask!));
        return _sockets[socket];
    }

    private readonly Dictionary<string, FileDescription?> _reopened = new(StringComparer.Ordinal);

    /// <summary>
    /// The file at <paramref name="path"/> opened read-only, as restore will open it: a mapping's
    /// own description may be closed already (the loader drops it after mapping), and pages are
    /// compared with what restore will read.
    /// </summary>
    private FileDescription? ReopenedForCompare(Task t, string path)
    {
        if (_reopened.TryGetValue(path, out var f)) return f;
        f = _kernel.Vfs.Open(t, -100, path, OpenFlags.O_RDONLY, 0, out var opened) == 0 ? opened : null;
        _reopened[path] = f;
        return f;
    }

    /// <summary>Closes the files opened for page comparison.</summary>
    public void ReleaseReopened()
    {
        foreach (var f in _reopened.Values) f?.DecRef();
        _reopened.Clear();
    }

    private AddressSpaceImage SaveMemory(ThreadGroup g, Task t)
    {
        var mm = g.AddressSpace!;
        var ranges = mm.ArgRanges;
        var image = new AddressSpaceImage
        {
            BrkStart = mm.BrkStart, Brk = mm.Brk,
            ArgStart = ranges.ArgStart, ArgEnd = ranges.ArgEnd, EnvStart = ranges.EnvStart, EnvEnd = ranges.EnvEnd,
            ExecutablePath = mm.ExecutablePath, Auxv = mm.Auxv.ToArray(),
            VdsoBase = t.Context?.VdsoBase ?? 0,
        };
        var io = t.Context!.Memory;
        // A VMA is read a chunk (256 pages) at a time with one process_vm_readv; where that comes
        // back short (an unreadable page: PROT_NONE, past the end of a mapped file) the rest of the
        // block is read a page at a time, and unreadable pages are not saved.
        var block = new byte[CheckpointImage.ChunkSize];
        var fileBlock = new byte[CheckpointImage.ChunkSize];
        const int pageSize = CheckpointImage.PageSize;
        foreach (var v in mm.Vmas)
        {
            var vma = new VmaImage { Start = v.Start, End = v.End, Prot = v.Prot, Flags = v.Flags, Name = v.Name, Offset = v.Offset, FirstPage = _writer.PageCount };
            if (v.File != null && _segmentsByFile.TryGetValue(v.File, out var segment))
            {
                // The segment's pages are saved once, with the segment.
                vma.SharedMemorySegment = _segmentIndex[segment] + 1;
                lock (_kernel.Ipc.Lock) vma.SharedMemoryAttached = segment.IsAttachedAt(mm, v.Start);
                image.Vmas.Add(vma);
                continue;
            }
            FileDescription? file = null;
            if (v.File != null)
            {
                vma.FilePath = FilePathOf(g.Tgid, v.File, $"mapping {v.Start:x}-{v.End:x}");
                vma.FileSize = v.File.Stat(out var attr) == 0 ? attr.Size : -1;
                file = ReopenedForCompare(t, vma.FilePath);
            }
            var saved = new List<uint>();
            ulong pages = (v.End - v.Start) / AddressSpace.PageSize;
            for (ulong first = 0; first < pages; first += (ulong)CheckpointImage.PagesPerChunk)
            {
                int count = (int)Math.Min((ulong)CheckpointImage.PagesPerChunk, pages - first);
                var data = block.AsSpan(0, count * pageSize);
                int readable = io.Read(v.Start + first * AddressSpace.PageSize, data) / pageSize;
                // A private file page is saved only when it differs from the file (written, or the
                // loader's zeroed tail); what the file lacks reads as zero, as restore maps it.
                int fileBytes = -1;
                if (v.File != null && file != null)
                {
                    Array.Clear(fileBlock, 0, count * pageSize);
                    long n = file.PRead(t, fileBlock.AsSpan(0, count * pageSize), (long)(v.Offset + first * AddressSpace.PageSize));
                    fileBytes = n < 0 ? -1 : (int)n;
                }
                for (int i = 0; i < count; i++)
                {
                    var page = data.Slice(i * pageSize, pageSize);
                    if (i >= readable && io.Read(v.Start + (first + (ulong)i) * AddressSpace.PageSize, page) != pageSize) continue;
                    if (v.File == null)
                    {
                        if (page.IndexOfAnyExcept((byte)0) < 0) continue;
                    }
                    else if (fileBytes >= 0 && page.SequenceEqual(fileBlock.AsSpan(i * pageSize, pageSize)))
                    {
                        continue;
                    }
                    _writer.AddPage(page);
                    saved.Add((uint)(first + (ulong)i));
                }
            }
            vma.SavedPages = new byte[saved.Count * 4];
            for (int i = 0; i < saved.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(vma.SavedPages.AsSpan(i * 4), saved[i]);
            image.Vmas.Add(vma);
        }
        return image;
    }
}
