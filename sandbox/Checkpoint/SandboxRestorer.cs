using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;
using RunscNet.Sentry.Platform;
using RunscNet.Sentry.Vfs;
using RunscNet.Sentry.Vfs.Event;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.Sentry.Vfs.Pipe;
using RunscNet.Sentry.Vfs.Socket;
using RunscNet.StateFile.Checkpoint;
using Task = RunscNet.Sentry.Kernel.Task;

namespace RunscNet.Sentry.Checkpoint;

/// <summary>
/// Rebuilds the processes of a checkpoint image in a fresh kernel: process tree, credentials,
/// signal state, fd tables (files reopened through the new gofer by path, pipes refilled, stdio
/// taken from the new sandbox), and each address space in a new stub with its pages and
/// registers. The image is hostile input even after its checksums matched: every pid, fd, length,
/// address and flag is checked before it is used, and any failure aborts the whole restore
/// (no task runs until every process was rebuilt).
/// </summary>
internal sealed class SandboxRestorer
{
    private const ulong UserSpaceEnd = 0x7fff_ffff_f000;
    private const int MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;
    private const int MaxFd = 1 << 20;

    private readonly Kernel.Kernel _kernel;
    private readonly ImageReader _image;
    private readonly int[] _stdio;
    private readonly int _consoleFd;
    private readonly Dictionary<int, FileDescription> _files = new();
    private readonly Dictionary<int, Pipe> _pipes = new();
    private readonly Dictionary<int, Session> _sessions = new();
    private List<UnixSocket>? _sockets;
    private readonly List<(PosixTimer Timer, long RemainingNs, long IntervalNs)> _timersToArm = new();
    private int _fileDepth;
    private readonly HashSet<int> _socketsInFds = new();
    private readonly List<FileDescription> _created = new();
    private readonly ulong _capabilityBound;
    private readonly bool _noNewPrivileges;

    private readonly Kernel.Seccomp.SeccompState _seccomp;

    /// <summary>The restored SysV shared memory segments, by index in the image (VMAs name them).</summary>
    private List<Kernel.Ipc.SharedMemorySegment> _segments = new();

    /// <summary>
    /// A restorer of <paramref name="image"/> into <paramref name="kernel"/>, whose stdio are the
    /// host fds <paramref name="stdio"/> and whose console is host fd <paramref name="consoleFd"/>
    /// (-1: none; `restore --console-socket` made it as `create` does). The bundle's process limits what an image may grant:
    /// every capability set is cut to <paramref name="capabilityBound"/> (its bounding set), and
    /// <paramref name="noNewPrivileges"/> is forced on when the bundle asks for it, and every task
    /// gets the bundle's linux.seccomp filter <paramref name="seccomp"/>.
    /// </summary>
    public SandboxRestorer(Kernel.Kernel kernel, ImageReader image, int[] stdio, int consoleFd, ulong capabilityBound, bool noNewPrivileges,
        Kernel.Seccomp.SeccompState seccomp)
    {
        _seccomp = seccomp;
        _kernel = kernel;
        _image = image;
        _stdio = stdio;
        _consoleFd = consoleFd;
        _capabilityBound = capabilityBound & Credentials.AllCaps;
        _noNewPrivileges = noNewPrivileges;
    }

    private static InvalidOperationException Fail(string why) => new($"restore: {why}");

    /// <summary>Rebuilds everything and lets the tasks run; throws with a one-line message (nothing runs then).</summary>
    public void Restore()
    {
        var g = _image.Graph;
        if (g.Processes.Count == 0) throw Fail("the image holds no process");
        if (g.Processes.Count > 4096) throw Fail("the image holds too many processes");
        if (!g.Processes.Exists(p => p.Pid == 1 && !p.Zombie)) throw Fail("the image holds no live init (pid 1)");
        // The console is the bundle's (process.terminal) and the image's: both or neither.
        if (g.Console != null && _consoleFd < 0)
            throw Fail("the container was saved with a terminal; restore it with process.terminal set in the bundle and --console-socket");
        if (g.Console == null && _consoleFd >= 0)
            throw Fail("the container was saved without a terminal, but the bundle asks for one (process.terminal)");
        var built = new List<(Task Task, ProcessImage Image)>();
        var groups = new Dictionary<int, ThreadGroup>();
        try
        {
            // tmpfs files first: descriptions and mappings of them reopen by path.
            if (g.Tmpfs.Count > 0 || g.Ipc != null)
            {
                var writer = new Task(_kernel, 1, Credentials.Root, Task.NoMemory.Instance) { Fs = new FsContext(_kernel.Vfs.RootPath) { Umask = 0 } };
                if (g.Tmpfs.Count > 0) TmpfsContents.Restore(_kernel, _image, writer);
                // SysV objects before the processes: address spaces attach segments.
                if (g.Ipc != null) _segments = IpcContents.Restore(_kernel, g.Ipc, _image, writer);
            }
            foreach (var p in g.Processes) built.AddRange(BuildProcess(p, groups));
            LinkFilesInFlight(built.Count > 0 ? built[0].Task : null);
            if (g.Ipc != null) IpcContents.RestoreUndo(_kernel, g.Ipc);
            _kernel.SetLastPid(Math.Max(g.LastPid, groups.Keys.Max()));
            if (g.Console != null)
                ConsoleState.Restore(_consoleFd, g.Console, g.Processes.ToDictionary(p => p.Pid, p => (p.Session, p.ProcessGroup)));
            RestoreInotifyWatches();
            StartAll(built);
        }
        catch
        {
            _kernel.KillAll();
            throw;
        }
        finally
        {
            // The fd tables hold their own references now.
            foreach (var f in _created) f.DecRef();
        }
        _kernel.Log.Write($"restore: {built.Count} tasks of {g.Processes.Count} processes running");
    }

    private IEnumerable<(Task, ProcessImage)> BuildProcess(ProcessImage p, Dictionary<int, ThreadGroup> groups)
    {
        if (p.Pid < 1 || p.Pid >= Kernel.Kernel.PidMax) throw Fail($"invalid pid {p.Pid}");
        ThreadGroup? parent = null;
        if (p.ParentPid != 0 && !groups.TryGetValue(p.ParentPid, out parent))
            throw Fail($"pid {p.Pid}: its parent {p.ParentPid} is not in the image before it");
        if (p.Pid != 1 && parent == null && !p.Zombie && !p.Exec) throw Fail($"pid {p.Pid} has no parent");
        if (p.Exec && (p.Pid == 1 || parent != null || p.Zombie)) throw Fail($"pid {p.Pid} is marked as started by exec but has a parent, is init or a zombie");
        if (!Signal.IsValid(p.ExitSignal) && p.ExitSignal != 0) throw Fail($"pid {p.Pid}: invalid exit signal {p.ExitSignal}");
        var limits = new Rlimits();
        foreach (var l in p.Limits)
        {
            if (l.Resource < 0 || l.Resource >= Rlimits.Count || l.Soft > l.Hard) throw Fail($"pid {p.Pid}: invalid rlimit {l.Resource}");
            limits.Set(l.Resource, l.Soft, l.Hard, privileged: true);
        }
        var tg = new ThreadGroup(_kernel, p.Pid)
        {
            Limits = limits,
            ExitSignal = p.ExitSignal,
            OomScoreAdj = Math.Clamp(p.OomScoreAdj, -1000, 1000),
            OomScoreAdjMin = Math.Clamp(p.OomScoreAdjMin, -1000, 1000),
            IsSubreaper = p.IsSubreaper,
            ReleaseOnExit = p.Exec,
            Dumpable = p.Dumpable is 0 or 1 or 2 ? p.Dumpable : 1,
        };
        if (!_sessions.TryGetValue(p.Session, out var session)) _sessions[p.Session] = session = new Session(p.Session);
        if (p.Zombie)
        {
            var ghost = new Task(_kernel, p.Pid, Credentials.Root, Task.NoMemory.Instance) { Name = p.Comm.Length > 15 ? p.Comm[..15] : p.Comm };
            if (!_kernel.RegisterRestored(tg, ghost, parent, p.ProcessGroup, session, zombie: true)) throw Fail($"pid {p.Pid} is invalid or given twice");
            Kernel.Kernel.SetExitStatus(tg, p.ExitStatus);
            groups[p.Pid] = tg;
            yield break;
        }
        if (p.Tasks.Count is < 1 or > 1024) throw Fail($"pid {p.Pid}: {p.Tasks.Count} threads");
        if (p.Memory == null) throw Fail($"pid {p.Pid} has no address space");
        var ti = p.Tasks[0];
        if (ti.Tid != p.Pid) throw Fail($"pid {p.Pid}: its thread has tid {ti.Tid}");
        var t = NewTask(p.Pid, ti);
        if (!_kernel.RegisterRestored(tg, t, parent, p.ProcessGroup, session, zombie: false)) throw Fail($"pid {p.Pid} is invalid or given twice");
        groups[p.Pid] = tg;
        var threads = new List<Task> { t };
        foreach (var other in p.Tasks.Skip(1))
        {
            var thread = NewTask(p.Pid, other);
            if (!_kernel.RegisterRestoredThread(tg, thread)) throw Fail($"pid {p.Pid}: thread id {other.Tid} is invalid or given twice");
            threads.Add(thread);
        }
        if (p.Handlers.Count > Signal.Max) throw Fail($"pid {p.Pid}: too many signal actions");
        for (int i = 0; i < p.Handlers.Count; i++)
        {
            var a = p.Handlers[i];
            tg.Handlers.Actions[i + 1] = new SigAction { Handler = a.Handler, Flags = a.Flags, Restorer = a.Restorer, Mask = a.Mask & ~Signal.Unblockable };
        }
        for (int i = 0; i < threads.Count; i++) threads[i].SetSignalMask(p.Tasks[i].SignalMask);
        lock (_kernel.TaskLock)
        {
            foreach (var s in p.Pending) tg.Pending.Enqueue(SignalInfoOf(p.Pid, s));
            for (int i = 0; i < threads.Count; i++)
                foreach (var s in p.Tasks[i].Pending) threads[i].Pending.Enqueue(SignalInfoOf(p.Pid, s));
        }
        // Files: the fs context first (opens resolve through it).
        t.Fs = new FsContext(_kernel.Vfs.RootPath) { Umask = p.Umask & 0x1ff };
        int err = _kernel.Vfs.Resolve(t, t.Fs.Root, p.Cwd, true, out var cwd);
        if (err < 0 || !cwd.Inode.IsDirectory) throw Fail($"pid {p.Pid}: its working directory {p.Cwd} is missing in the new root");
        t.Fs.Cwd = cwd;
        t.Fds.Limit = (int)Math.Min(limits.Get(Rlimits.NOFILE).Cur, MaxFd);
        foreach (var fd in p.Fds)
        {
            if (fd.Fd < 0 || fd.Fd >= t.Fds.Limit) throw Fail($"pid {p.Pid}: invalid fd {fd.Fd}");
            var file = FileFor(t, fd.File);
            if (t.Fds.InstallAt(fd.Fd, file, fd.CloseOnExec) < 0) throw Fail($"pid {p.Pid}: fd {fd.Fd} cannot be installed");
        }
        RestoreRecordLocks(t, p);
        if (p.RealTimerRemainingNs < 0 || p.RealTimerIntervalNs < 0) throw Fail($"pid {p.Pid}: invalid ITIMER_REAL");
        if (p.VirtualTimerRemainingNs < 0 || p.VirtualTimerIntervalNs < 0 || p.ProfTimerRemainingNs < 0 || p.ProfTimerIntervalNs < 0)
            throw Fail($"pid {p.Pid}: invalid ITIMER_VIRTUAL or ITIMER_PROF");
        if (p.CpuNanos < 0 || p.ChildrenCpuNanos < 0) throw Fail($"pid {p.Pid}: invalid CPU time used");
        tg.ChildrenCpuNanos = p.ChildrenCpuNanos;
        if (p.PosixTimers.Count > 65536) throw Fail($"pid {p.Pid}: too many POSIX timers");
        foreach (var pt in p.PosixTimers)
        {
            // The CPU clocks are the process's own (timer_create normalized glibc's dynamic ids).
            if (pt.Clock is not (PosixTimer.CLOCK_REALTIME or PosixTimer.CLOCK_MONOTONIC or PosixTimer.CLOCK_BOOTTIME or PosixTimer.CLOCK_REALTIME_ALARM
                    or PosixTimer.CLOCK_BOOTTIME_ALARM or PosixTimer.CLOCK_TAI or PosixTimer.CLOCK_PROCESS_CPUTIME_ID or PosixTimer.CLOCK_THREAD_CPUTIME_ID))
                throw Fail($"pid {p.Pid}: POSIX timer {pt.Id} has an invalid clock {pt.Clock}");
            if (pt.Notify is not (PosixTimer.SIGEV_SIGNAL or PosixTimer.SIGEV_NONE or PosixTimer.SIGEV_THREAD_ID)
                || (pt.Notify != PosixTimer.SIGEV_NONE && !Signal.IsValid(pt.Signal)) || pt.RemainingNs < 0 || pt.IntervalNs < 0)
                throw Fail($"pid {p.Pid}: POSIX timer {pt.Id} is malformed");
            Task? target = null;
            if (pt.Notify == PosixTimer.SIGEV_THREAD_ID)
                target = threads.Find(x => x.Tid == pt.TargetTid) ?? throw Fail($"pid {p.Pid}: POSIX timer {pt.Id} targets thread {pt.TargetTid}, which is not in the process");
            var timer = tg.PosixTimers.Restore(pt.Id, pt.Clock, pt.Notify, pt.Signal, pt.Value, target)
                ?? throw Fail($"pid {p.Pid}: POSIX timer id {pt.Id} is invalid or given twice");
            if (pt.RemainingNs > 0) _timersToArm.Add((timer, pt.RemainingNs, pt.IntervalNs));
        }
        // Threads share the process's fd table and fs context (the saver refused anything else).
        foreach (var thread in threads.Skip(1))
        {
            thread.Fds = t.Fds;
            thread.Fs = t.Fs;
        }
        if (_kernel.Vfs.Resolve(t, t.Fs.Root, p.Memory.ExecutablePath, true, out var exe) == 0) _kernel.Vfs.SetExecutable(t, exe);
        for (int i = 0; i < threads.Count; i++) yield return (threads[i], p);
    }

    private Task NewTaskUnregistered(Kernel.Kernel kernel, int pid, TaskImage ti) =>
        new(kernel, ti.Tid, CredentialsOf(pid, ti.Credentials, _capabilityBound), Task.NoMemory.Instance)
        {
            Name = ti.Name.Length > 15 ? ti.Name[..15] : ti.Name,
            NoNewPrivileges = ti.NoNewPrivileges || _noNewPrivileges,
            Seccomp = _seccomp,
            Nice = Math.Clamp(ti.Nice, -20, 19),
            ParentDeathSignal = Signal.IsValid(ti.ParentDeathSignal) ? ti.ParentDeathSignal : 0,
            ClearChildTid = ti.ClearChildTid,
            RobustList = ti.RobustList,
            AltStack = new SignalFrame.AltStack(ti.AltStackSp, ti.AltStackFlags & (Task.SS_DISABLE | Task.SS_ONSTACK), ti.AltStackSize),
        };

    private Task NewTask(int pid, TaskImage ti)
    {
        return NewTaskUnregistered(_kernel, pid, ti);
    }

    private static Credentials CredentialsOf(int pid, CredentialsImage? c, ulong bound)
    {
        if (c == null) throw Fail($"pid {pid}: no credentials");
        if (c.Groups.Length % 4 != 0 || c.Groups.Length > 65536 * 4) throw Fail($"pid {pid}: invalid supplementary groups");
        var groups = new uint[c.Groups.Length / 4];
        for (int i = 0; i < groups.Length; i++) groups[i] = BinaryPrimitives.ReadUInt32LittleEndian(c.Groups.AsSpan(i * 4));
        ulong all = bound;
        return new Credentials(c.Uid, c.Gid, c.Euid, c.Egid, c.Suid, c.Sgid, c.Fsuid, c.Fsgid, groups,
            c.Effective & all, c.Permitted & all, c.Inheritable & all, c.Bounding & all)
        {
            AmbientCaps = c.Ambient & c.Permitted & c.Inheritable & all,
            SecureBits = (uint)c.SecureBits & 0xff,
        };
    }

    private static SignalInfo SignalInfoOf(int pid, SignalInfoImage s)
    {
        if (s.SigInfo.Length != SignalInfo.Size) throw Fail($"pid {pid}: a pending signal is malformed");
        var info = SignalInfo.FromBytes(s.SigInfo);
        if (!Signal.IsValid(info.Signo)) throw Fail($"pid {pid}: pending signal {info.Signo} is invalid");
        return info;
    }

    private FileDescription FileFor(Task t, int index)
    {
        if (_files.TryGetValue(index, out var known)) return known;
        var files = _image.Graph.Files;
        if (index < 0 || index >= files.Count) throw Fail($"pid {t.Pid}: fd refers to file {index}, which is not in the image");
        var f = files[index];
        int status = f.Flags & (OpenFlags.O_ACCMODE | OpenFlags.SettableStatusFlags | OpenFlags.O_LARGEFILE | OpenFlags.O_DSYNC | OpenFlags.O_SYNC);
        FileDescription file;
        switch (f.Kind)
        {
            case FileKind.Stdio:
                if (f.StdioIndex is < 0 or > 2 || f.StdioIndex >= _stdio.Length || _stdio[f.StdioIndex] < 0)
                    throw Fail($"pid {t.Pid}: stdio {f.StdioIndex} is not available in the new sandbox");
                int dup = Fcntl.Dup(_stdio[f.StdioIndex]);
                if (dup < 0) throw Fail($"pid {t.Pid}: duplicating stdio {f.StdioIndex} failed");
                file = HostFileDescription.FromHostFd(dup);
                break;
            case FileKind.Console:
                if (_consoleFd < 0) throw Fail($"pid {t.Pid}: fd refers to the console, but the new sandbox has none");
                int console = Fcntl.Dup(_consoleFd);
                if (console < 0) throw Fail($"pid {t.Pid}: duplicating the console failed");
                var consoleFile = HostFileDescription.FromHostFd(console);
                // The host fd is read-write; the description keeps the access and flags it had.
                consoleFile.StatusFlags = status & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND);
                file = consoleFile;
                break;
            case FileKind.PipeRead or FileKind.PipeWrite:
                file = new PipeFile(PipeFor(t.Pid, f.Pipe), (f.Kind == FileKind.PipeRead ? OpenFlags.O_RDONLY : OpenFlags.O_WRONLY) | (status & OpenFlags.O_NONBLOCK));
                break;
            case FileKind.Path:
                file = Reopen(t, f, status);
                _files[index] = file;
                _created.Add(file);
                RestoreDescriptionLocks(t, f, file);
                return file;
            case FileKind.UnixSocket:
                file = SocketFor(t, f.Socket);
                break;
            case FileKind.HostSocket:
                if (f.HostSocket is not { } hostSocket) throw Fail($"pid {t.Pid}: host socket {index} has no record");
                if (HostSocket.Restore(t, hostSocket, status, out var restoredSocket) is { } why)
                    throw Fail($"pid {t.Pid}: host socket {index} {why}");
                file = restoredSocket!;
                break;
            case FileKind.Inotify:
                file = RestoreInotify(t, index, f, status);
                break;
            case FileKind.EventFd:
                if (f.EventCount > 0xfffffffffffffffe) throw Fail($"pid {t.Pid}: eventfd {index} has an invalid counter");
                file = new EventFdFile(f.EventCount, f.Semaphore, status & OpenFlags.O_NONBLOCK);
                break;
            case FileKind.TimerFd:
                if (f.Clock is not (PosixTimer.CLOCK_REALTIME or PosixTimer.CLOCK_MONOTONIC or PosixTimer.CLOCK_BOOTTIME
                    or PosixTimer.CLOCK_REALTIME_ALARM or PosixTimer.CLOCK_BOOTTIME_ALARM) || f.TimerRemainingNs < 0 || f.TimerIntervalNs < 0)
                    throw Fail($"pid {t.Pid}: timerfd {index} has an invalid clock or time");
                var timerFd = new TimerFdFile(f.Clock, status & OpenFlags.O_NONBLOCK);
                timerFd.Set(f.TimerRemainingNs, f.TimerIntervalNs, absolute: false, out _, out _);
                timerFd.Expirations = f.Expirations;
                file = timerFd;
                break;
            case FileKind.SignalFd:
                file = new SignalFdFile(t, f.SignalMask, status & OpenFlags.O_NONBLOCK);
                break;
            case FileKind.Memfd:
                file = RestoreMemfd(t, index, f, status);
                break;
            case FileKind.Epoll:
                if (f.Interests.Count > 65536) throw Fail($"pid {t.Pid}: epoll {index} watches too many files");
                var epoll = new EpollFile(status & OpenFlags.O_NONBLOCK);
                // Known before its interests are rebuilt, so a loop back to it is caught (EINVAL) rather than recursing.
                _files[index] = epoll;
                _created.Add(epoll);
                if (++_fileDepth > 8) throw Fail($"pid {t.Pid}: epoll instances nested too deep");
                try
                {
                    foreach (var interest in f.Interests)
                    {
                        if (interest.Fd < 0 || interest.Fd >= MaxFd) throw Fail($"pid {t.Pid}: epoll {index} watches invalid fd {interest.Fd}");
                        int err = epoll.RestoreInterest(FileFor(t, interest.File), interest.Fd, interest.Events, interest.Data, interest.Disabled);
                        if (err != 0) throw Fail($"pid {t.Pid}: epoll {index} cannot watch fd {interest.Fd} again: errno {-err}");
                    }
                }
                finally
                {
                    _fileDepth--;
                }
                return epoll;
            default:
                throw Fail($"pid {t.Pid}: file {index} has unknown kind {f.Kind}");
        }
        _files[index] = file;
        _created.Add(file);
        return file;
    }

    /// <summary>An inotify instance with its watches added again by path (checked as inotify_add_watch checks them) and its queued events.</summary>
    private FileDescription RestoreInotify(Task t, int index, FileImage f, int status)
    {
        if (f.Inotify is not { } image) throw Fail($"pid {t.Pid}: inotify {index} has no record");
        if (image.Watches.Count > 65536) throw Fail($"pid {t.Pid}: inotify {index} has too many watches");
        var inotify = new Vfs.Inotify.InotifyFile(status & OpenFlags.O_NONBLOCK);
        // Watches go on once every process is rebuilt: reopening files and mappings on the way
        // must not queue events (an uninterrupted run had none).
        _inotifyPending.Add((t, index, image, inotify));
        return inotify;
    }

    private readonly List<(Task Task, int Index, InotifyImage Image, Vfs.Inotify.InotifyFile File)> _inotifyPending = new();

    /// <summary>Adds the saved watches and events to the rebuilt inotify instances.</summary>
    private void RestoreInotifyWatches()
    {
        foreach (var (t, index, image, inotify) in _inotifyPending) RestoreInotifyWatches(t, index, image, inotify);
    }

    private void RestoreInotifyWatches(Task t, int index, InotifyImage image, Vfs.Inotify.InotifyFile inotify)
    {
        const uint stored = Vfs.Inotify.InotifyMask.AllEvents | Vfs.Inotify.InotifyMask.IN_EXCL_UNLINK | Vfs.Inotify.InotifyMask.IN_ONESHOT | Vfs.Inotify.InotifyMask.IN_ISDIR;
        {
            foreach (var w in image.Watches)
            {
                if (w.Wd < 1 || (w.Mask & ~stored) != 0 || (w.Mask & Vfs.Inotify.InotifyMask.AllEvents) == 0)
                    throw Fail($"pid {t.Pid}: inotify {index} has an invalid watch {w.Wd}");
                if (!w.Path.StartsWith('/') || w.Path.Length > 4096 || w.Path.Contains('\0')) throw Fail($"pid {t.Pid}: inotify {index} watches an invalid path");
                int err = _kernel.Vfs.ResolveAt(t, -100, w.Path, followFinal: false, allowEmpty: false, out var at);
                if (err == -Errno.ENOENT) throw Fail($"file {w.Path} (watched by inotify in pid {t.Pid}) no longer exists");
                if (err == 0) err = Permissions.Check(t.Credentials, at.Inode.Attr, Permissions.MayRead);
                if (err != 0) throw Fail($"watching {w.Path} again for pid {t.Pid}: errno {-err}");
                if (!inotify.RestoreWatch(w.Wd, at.Inode, w.Mask, at)) throw Fail($"pid {t.Pid}: inotify {index} has watch {w.Wd} or file {w.Path} twice");
            }
            if (!inotify.RestoreQueue(image.Events, image.NextWd)) throw Fail($"pid {t.Pid}: inotify {index} has malformed queued events");
        }
    }

    /// <summary>A memfd with its bytes (read from the page stream, each chunk checked), seals, offset and flags.</summary>
    private FileDescription RestoreMemfd(Task t, int index, FileImage f, int status)
    {
        if (f.MemfdName.Length > 249 || f.MemfdName.Contains('\0') || f.MemfdName.Contains('/') || f.Size < 0 || f.Offset < 0
            || (f.Seals & ~0x3f) != 0 || f.FirstPage < 0 || (f.Flags & OpenFlags.O_ACCMODE) == 3)
            throw Fail($"pid {t.Pid}: memfd {index} is malformed");
        long pages = f.Size / CheckpointImage.PageSize + (f.Size % CheckpointImage.PageSize != 0 ? 1 : 0);   // no overflow near long.MaxValue
        if (pages > _image.PageCount || f.FirstPage > _image.PageCount - pages) throw Fail($"pid {t.Pid}: memfd {index} refers to pages outside the image");
        var file = Vfs.Tmpfs.MemfdFileSystem.Restore(t, f.MemfdName, f.Mode, f.Uid, f.Gid, f.Seals, status, memfd =>
        {
            long err = 0;
            _image.ReadPages(f.FirstPage, pages, (first, data) =>
            {
                long at = (first - f.FirstPage) * CheckpointImage.PageSize;
                int n = (int)Math.Min(data.Length, f.Size - at);
                if (err == 0 && n > 0) { long w = memfd.PWrite(t, data[..n], at); if (w != n) err = w < 0 ? w : -Errno.EIO; }
            });
            if (err != 0) throw Fail($"pid {t.Pid}: refilling memfd {index}: errno {-err}");
        });
        if (f.Offset > 0 && file.Seek(t, f.Offset, 0 /* SEEK_SET */) < 0)
        {
            file.DecRef();
            throw Fail($"pid {t.Pid}: memfd {index}: cannot seek to {f.Offset}");
        }
        return file;
    }

    /// <summary>The flock and OFD record locks of a reopened description; a lock that conflicts with one restored already is a malformed image.</summary>
    private static void RestoreDescriptionLocks(Task t, FileImage f, FileDescription file)
    {
        if (f.Flock == 0 && f.OfdLocks.Count == 0) return;
        if (file.Inode is not { } inode) throw Fail($"pid {t.Pid}: file {f.Path} holds locks but has no inode");
        if (f.Flock is < 0 or > 2 || (f.Flock > 0 && !Vfs.Locks.FileLocks.RestoreFlock(inode, file, f.Flock - 1)))
            throw Fail($"pid {t.Pid}: the flock on {f.Path} is malformed or conflicts with another");
        if (f.OfdLocks.Count > 65536) throw Fail($"pid {t.Pid}: too many locks on {f.Path}");
        foreach (var l in f.OfdLocks)
            if (!Vfs.Locks.FileLocks.RestoreRange(inode, file, -1, l.Type, l.Start, l.End))
                throw Fail($"pid {t.Pid}: a record lock on {f.Path} is malformed or conflicts with another");
    }

    /// <summary>The POSIX record locks of a process, owned by its fd table; each names a reopened file of the process.</summary>
    private void RestoreRecordLocks(Task t, ProcessImage p)
    {
        if (p.RecordLocks.Count > 65536) throw Fail($"pid {p.Pid}: too many record locks");
        foreach (var l in p.RecordLocks)
        {
            if (l.File < 0 || l.File >= _image.Graph.Files.Count || _image.Graph.Files[l.File].Kind != FileKind.Path
                || !_files.TryGetValue(l.File, out var file) || !p.Fds.Exists(fd => fd.File == l.File) || file.Inode is not { } inode)
                throw Fail($"pid {p.Pid}: a record lock names file {l.File}, which is not a file the process has open");
            if (!Vfs.Locks.FileLocks.RestoreRange(inode, t.Fds, p.Pid, l.Type, l.Start, l.End))
                throw Fail($"pid {p.Pid}: a record lock on {_image.Graph.Files[l.File].Path} is malformed or conflicts with another");
        }
    }

    private Pipe PipeFor(int pid, int index)
    {
        if (_pipes.TryGetValue(index, out var known)) return known;
        var pipes = _image.Graph.Pipes;
        if (index < 0 || index >= pipes.Count) throw Fail($"pid {pid}: a pipe end refers to pipe {index}, which is not in the image");
        var p = pipes[index];
        if (p.Capacity < Pipe.PipeBuf || p.Capacity > Pipe.MaxCapacity || p.Data.Length > p.Capacity)
            throw Fail($"pid {pid}: pipe {index} has an invalid size");
        var pipe = new Pipe();
        pipe.Refill(p.Data, p.Capacity);
        _pipes[index] = pipe;
        return pipe;
    }

    /// <summary>
    /// The restored socket <paramref name="index"/> for an open file description, rebuilding
    /// every socket of the image on first use (they refer to each other). Its creation reference
    /// becomes the description's; a socket is one description at most and never also a pending
    /// connection, whose listener owns it.
    /// </summary>
    private UnixSocket SocketFor(Task t, int index)
    {
        var images = _image.Graph.UnixSockets;
        if (_sockets == null)
        {
            if (images.Count > 65536) throw Fail("the image holds too many unix sockets");
            var pending = new HashSet<uint>();
            foreach (var s in images)
            {
                if (s == null) throw Fail("the image holds an empty unix socket record");
                for (int i = 0; i + 4 <= s.Backlog.Length; i += 4)
                    if (!pending.Add(BinaryPrimitives.ReadUInt32LittleEndian(s.Backlog.AsSpan(i)))) throw Fail("a unix socket is pending on two listeners");
            }
            foreach (uint p in pending) _socketsInFds.Add((int)p - 1);   // owned by their listener
            _sockets = new List<UnixSocket>(images.Count);
            for (int i = 0; i < images.Count; i++) _sockets.Add(UnixSocket.FromCheckpoint(t, images[i], i));
            for (int i = 0; i < images.Count; i++) _sockets[i].LinkCheckpoint(t, images[i], i, _sockets);
        }
        if (index < 0 || index >= _sockets.Count) throw Fail($"pid {t.Pid}: an fd refers to unix socket {index}, which is not in the image");
        if (!_socketsInFds.Add(index)) throw Fail($"pid {t.Pid}: unix socket {index} is given as two open files or is also a pending connection");
        if (images[index].Closed) throw Fail($"pid {t.Pid}: an fd refers to unix socket {index}, which was closed");
        return _sockets[index];
    }

    /// <summary>
    /// Files in flight on unix sockets (SCM_RIGHTS) go back on their messages once every fd table
    /// was rebuilt: a description also held by an fd is that same description.
    /// </summary>
    private void LinkFilesInFlight(Task? t)
    {
        if (_sockets == null || t == null) return;
        var images = _image.Graph.UnixSockets;
        for (int i = 0; i < images.Count; i++)
            if (images[i].Queue.Exists(m => m.Rights.Length > 0))
                _sockets[i].LinkInFlight(images[i], i, index => FileFor(t, index));
    }

    /// <summary>Opens a saved file by its path through the new gofer, refusing one that vanished or changed size.</summary>
    private FileDescription Reopen(Task t, FileImage f, int status)
    {
        string path = f.Path;
        if (!path.StartsWith('/') || path.Length > 4096 || path.Contains('\0')) throw Fail($"pid {t.Pid}: invalid file path in the image");
        int err = _kernel.Vfs.Open(t, -100, path, status, 0, out var file);
        if (err == -Errno.ENOENT) throw Fail($"file {path} (open in pid {t.Pid}) no longer exists");
        if (err < 0 || file == null) throw Fail($"reopening {path} for pid {t.Pid}: errno {-err}");
        if (f.Size >= 0 && file.Stat(out var attr) == 0 && attr.Size != f.Size)
        {
            file.DecRef();
            throw Fail($"file {path} (open in pid {t.Pid}) changed since the checkpoint (size {f.Size}, now {attr.Size})");
        }
        if (f.Offset > 0 && file.Seek(t, f.Offset, 0 /* SEEK_SET */) < 0)
        {
            file.DecRef();
            throw Fail($"file {path} (open in pid {t.Pid}): cannot seek to {f.Offset}");
        }
        return file;
    }

    /// <summary>
    /// Starts each task's thread. A process's first thread builds its address space in a new stub
    /// and creates the host threads of the others, which adopt them; the tasks run only once all
    /// of them were built (a failure anywhere stops every one).
    /// </summary>
    private void StartAll(List<(Task Task, ProcessImage Image)> built)
    {
        using var go = new ManualResetEventSlim(false);
        using var done = new CountdownEvent(built.Count);
        var errors = new List<string>();
        bool abort = false;
        // Per thread (not a process's first): its host thread, handed over by the first thread.
        var handoff = new Dictionary<Task, System.Threading.Tasks.TaskCompletionSource<IForkedContext?>>();
        foreach (var (task, image) in built)
            if (task.Tid != image.Pid) handoff[task] = new System.Threading.Tasks.TaskCompletionSource<IForkedContext?>();
        void Record(string? error)
        {
            if (error != null) lock (errors) errors.Add(error);
        }
        foreach (var (task, image) in built)
        {
            var t = task;
            var p = image;
            bool first = t.Tid == p.Pid;
            t.StartThread(() =>
            {
                string? error = null;
                try
                {
                    if (first)
                    {
                        BuildAddressSpace(t, p);
                        CreateThreads(t, p, built, handoff);
                    }
                    else
                    {
                        AdoptThread(t, p, handoff[t].Task.Result);
                    }
                }
                catch (Exception e) when (e is InvalidOperationException or CheckpointImageException)
                {
                    error = e.Message;
                }
                catch (Exception e)
                {
                    error = $"restore: pid {p.Pid} thread {t.Tid}: {e.GetType().Name}: {e.Message}";
                }
                finally
                {
                    // Threads never handed a host thread (an earlier failure) are released empty.
                    if (first)
                        foreach (var (other, _) in built.Where(b => b.Image == p && b.Task != t))
                            handoff[other].TrySetResult(null);
                }
                Record(error);
                done.Signal();
                go.Wait();
                return error != null || Volatile.Read(ref abort) ? -Errno.EIO : 0;
            }, null);
        }
        done.Wait();
        // Attaching the segments again stamped them: their saved shm_lpid and shm_atime go back.
        var ipc = _image.Graph.Ipc;
        if (ipc != null)
            lock (_kernel.Ipc.Lock)
                for (int i = 0; i < _segments.Count; i++)
                    (_segments[i].LastPid, _segments[i].AttachTime) = (ipc.SharedMemory[i].LastPid, ipc.SharedMemory[i].AttachTime);
        // CPU clocks go on from the saved CPU time: what each new stub used while it was rebuilt
        // does not count (set before the tasks run, so the first clock_gettime reads the saved value on).
        if (errors.Count == 0)
            foreach (var (task, image) in built)
                if (task.Tid == image.Pid) task.ThreadGroup.CpuNanosBase = Math.Max(0, image.CpuNanos - task.CpuNanos());
        if (errors.Count > 0) Volatile.Write(ref abort, true);
        go.Set();
        if (errors.Count > 0) throw new InvalidOperationException(errors[0]);
        // Timers start counting again only once the processes run.
        foreach (var (task, image) in built)
            if (task.Tid == image.Pid && image.RealTimerRemainingNs > 0)
                task.ThreadGroup.RealTimer.Set(TimeSpan.FromTicks(image.RealTimerRemainingNs / 100 + 1), TimeSpan.FromTicks(image.RealTimerIntervalNs / 100));
        foreach (var (timer, remaining, interval) in _timersToArm) timer.Set(remaining, interval, absolute: false);
        foreach (var (task, image) in built)
        {
            if (task.Tid != image.Pid) continue;
            if (image.VirtualTimerRemainingNs > 0) task.ThreadGroup.VirtualTimer.Restore(image.VirtualTimerRemainingNs, image.VirtualTimerIntervalNs);
            if (image.ProfTimerRemainingNs > 0) task.ThreadGroup.ProfTimer.Restore(image.ProfTimerRemainingNs, image.ProfTimerIntervalNs);
        }
    }

    /// <summary>On a process's first thread: creates a host thread in its stub for each other thread.</summary>
    private static void CreateThreads(Task leader, ProcessImage p, List<(Task Task, ProcessImage Image)> built,
        Dictionary<Task, System.Threading.Tasks.TaskCompletionSource<IForkedContext?>> handoff)
    {
        foreach (var (other, _) in built.Where(b => b.Image == p && b.Task != leader))
        {
            var forked = leader.Context!.CloneThread(out int err);
            if (forked == null) throw Fail($"pid {p.Pid}: creating thread {other.Tid}: errno {err}");
            handoff[other].SetResult(forked);
        }
    }

    /// <summary>On a thread's own task thread: takes over its host thread with its saved registers.</summary>
    private static void AdoptThread(Task t, ProcessImage p, IForkedContext? forked)
    {
        if (forked == null) throw Fail($"pid {p.Pid}: thread {t.Tid} was not created");
        var ti = p.Tasks.First(x => x.Tid == t.Tid);
        var leaderContext = t.ThreadGroup.Leader.Context!;
        var (regs, fpu) = SanitizedRegisters(p.Pid, ti, leaderContext.Regs);
        IPlatformContext c;
        try
        {
            c = t.Kernel.Platform.AdoptForked(forked, regs, fpu);
        }
        catch
        {
            forked.Abandon();
            throw;
        }
        t.Context = c;
        t.Memory = c.Memory;
    }

    private void BuildAddressSpace(Task t, ProcessImage p)
    {
        var a = p.Memory!;
        var ctx = _kernel.Platform.NewAddressSpace();
        var mm = new AddressSpace(ctx)
        {
            BrkStart = a.BrkStart, Brk = a.Brk,
            ArgRanges = (a.ArgStart, a.ArgEnd, a.EnvStart, a.EnvEnd),
            ExecutablePath = a.ExecutablePath.Length <= 4096 ? a.ExecutablePath : "",
            Auxv = a.Auxv.Length <= 4096 ? a.Auxv : Array.Empty<byte>(),
        };
        t.Context = ctx;
        t.Memory = ctx.Memory;
        t.ThreadGroup.AddressSpace = mm;
        if (a.Brk < a.BrkStart || a.Brk >= UserSpaceEnd) throw Fail($"pid {p.Pid}: invalid program break");
        MoveVdso(ctx, p.Pid, a.VdsoBase);
        ulong lastEnd = 0;
        foreach (var v in a.Vmas)
        {
            RestoreVma(t, mm, p.Pid, v, lastEnd);
            lastEnd = v.End;
        }
        SetRegisters(ctx, p.Pid, p.Tasks[0]);
    }

    private void RestoreVma(Task t, AddressSpace mm, int pid, VmaImage v, ulong lastEnd)
    {
        ulong page = AddressSpace.PageSize;
        if (v.Start % page != 0 || v.End % page != 0 || v.Start >= v.End || v.End > UserSpaceEnd || v.Start < lastEnd || v.Start < 0x1000)
            throw Fail($"pid {pid}: invalid mapping {v.Start:x}-{v.End:x}");
        if ((v.Prot & ~7) != 0 || ((v.Flags & Vma.MapShared) != 0) != (v.SharedMemorySegment != 0))
            throw Fail($"pid {pid}: mapping {v.Start:x}-{v.End:x} has invalid protections or flags");
        ulong length = v.End - v.Start;
        if (v.SharedMemorySegment != 0)
        {
            AttachSegment(t, mm, pid, v, length);
            return;
        }
        int prot = v.Prot | Vma.ProtWrite;   // writable while its pages are written back
        int flags = MAP_PRIVATE | MAP_FIXED;
        string? name = v.Name is { Length: <= 4096 } n ? n : null;
        long r;
        if (v.FilePath.Length == 0)
        {
            r = mm.Map(t, v.Start, length, prot, flags | MAP_ANONYMOUS, null, 0, name);
        }
        else
        {
            if (v.Offset % page != 0) throw Fail($"pid {pid}: mapping {v.Start:x}-{v.End:x} has an unaligned file offset");
            // The Sentry's own open, read and close of the mapped file: no inotify events.
            Vfs.Inotify.FsNotify.Quiet = true;
            var file = Reopen(t, new FileImage { Path = v.FilePath, Size = v.FileSize }, OpenFlags.O_RDONLY);
            try
            {
                // Filled with the file's bytes now; the pages that differed from the file follow.
                r = mm.Map(t, v.Start, length, prot, flags, file, v.Offset, name, fileBytes: length);
            }
            finally
            {
                file.DecRef();
                Vfs.Inotify.FsNotify.Quiet = false;
            }
        }
        if (r < 0) throw Fail($"pid {pid}: mapping {v.Start:x}-{v.End:x} ({name ?? v.FilePath}) failed: errno {-r}");
        if (v.SavedPages.Length % 4 != 0) throw Fail($"pid {pid}: mapping {v.Start:x}: malformed page list");
        int count = v.SavedPages.Length / 4;
        ulong pages = length / page;
        if (v.FirstPage < 0 || v.FirstPage > _image.PageCount - count) throw Fail($"pid {pid}: mapping {v.Start:x}: its pages lie outside the page stream");
        var memory = t.Context!.Memory;
        long prev = -1;
        // Runs of consecutive saved pages (consecutive in the page stream too) are written with
        // one process_vm_writev per run and image chunk (up to 1 MiB), not one per page.
        for (int i = 0; i < count;)
        {
            uint at = BinaryPrimitives.ReadUInt32LittleEndian(v.SavedPages.AsSpan(i * 4));
            if (at >= pages || at <= prev) throw Fail($"pid {pid}: mapping {v.Start:x}: page {at} is out of order or outside it");
            int run = 1;
            while (i + run < count && at + (ulong)run < pages
                   && BinaryPrimitives.ReadUInt32LittleEndian(v.SavedPages.AsSpan((i + run) * 4)) == at + (uint)run)
                run++;
            prev = at + run - 1;
            long streamFirst = v.FirstPage + i;
            ulong runStart = v.Start + at * page;
            _image.ReadPages(streamFirst, run, (index, data) =>
            {
                ulong to = runStart + (ulong)(index - streamFirst) * page;
                if (memory.Write(to, data) != data.Length) throw Fail($"pid {pid}: writing pages at {to:x} failed");
            });
            i += run;
        }
        if ((v.Prot & Vma.ProtWrite) == 0)
        {
            int e = mm.Protect(v.Start, length, v.Prot);
            if (e < 0) throw Fail($"pid {pid}: mprotect of {v.Start:x}-{v.End:x} failed: errno {-e}");
        }
    }

    /// <summary>A SysV shared memory attachment: the restored segment mapped MAP_SHARED where it was.</summary>
    private void AttachSegment(Task t, AddressSpace mm, int pid, VmaImage v, ulong length)
    {
        const int MAP_SHARED = 1;
        if (v.SharedMemorySegment < 1 || v.SharedMemorySegment > _segments.Count)
            throw Fail($"pid {pid}: mapping {v.Start:x}-{v.End:x} names SysV shared memory segment {v.SharedMemorySegment - 1}, which is not in the image");
        var segment = _segments[v.SharedMemorySegment - 1];
        ulong size = AddressSpace.PageUp((ulong)segment.Size);
        if (v.Offset % AddressSpace.PageSize != 0 || v.Offset > size || length > size - v.Offset || v.SavedPages.Length != 0 || v.FilePath.Length != 0)
            throw Fail($"pid {pid}: mapping {v.Start:x}-{v.End:x} does not fit SysV shared memory segment {segment.Id}");
        long r = mm.Map(t, v.Start, length, v.Prot, MAP_SHARED | MAP_FIXED, segment.File, v.Offset, segment.MapName);
        if (r < 0) throw Fail($"pid {pid}: attaching SysV shared memory segment {segment.Id} at {v.Start:x} failed: errno {-r}");
        if (v.SharedMemoryAttached)
            lock (_kernel.Ipc.Lock) segment.Attach(mm, v.Start, pid);
    }

    /// <summary>
    /// Moves the new stub's vDSO (and its data pages) to where the saved process had it: the
    /// application keeps pointers into it (glibc's clock_gettime). The host allows mremap of these
    /// special mappings from inside the process.
    /// </summary>
    private static void MoveVdso(IPlatformContext ctx, int pid, ulong savedVdso)
    {
        if (savedVdso == 0 || ctx.VdsoBase == 0 || savedVdso == ctx.VdsoBase) return;
        if (savedVdso % AddressSpace.PageSize != 0 || savedVdso >= UserSpaceEnd || savedVdso < 0x10000) throw Fail($"pid {pid}: invalid vDSO address");
        // mremap with MREMAP_FIXED replaces what lies at the target: never the stub's own pages.
        foreach (var (s, e) in ctx.Reserved)
        {
            bool ownWindow = ctx.VdsoBase >= s && ctx.VdsoBase < e;
            if (!ownWindow && savedVdso - 0x10000 < e && s < savedVdso + 0x4000) throw Fail($"pid {pid}: the saved vDSO address {savedVdso:x} lies in the platform's reserved range");
        }
        var specials = new List<(ulong Start, ulong End)>();
        foreach (string line in File.ReadAllLines($"/proc/{ctx.HostPid}/maps"))
        {
            if (!(line.EndsWith("[vdso]", StringComparison.Ordinal) || line.Contains("[vvar", StringComparison.Ordinal))) continue;
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            specials.Add((Convert.ToUInt64(line[..dash], 16), Convert.ToUInt64(line[(dash + 1)..space], 16)));
        }
        long delta = (long)(savedVdso - ctx.VdsoBase);
        // Moving up: the highest first, so no move lands on a mapping not yet moved.
        var order = delta > 0 ? specials.OrderByDescending(s => s.Start) : specials.OrderBy(s => s.Start);
        foreach (var (start, end) in order)
        {
            ulong to = (ulong)((long)start + delta);
            long r = ctx.HostSyscall(RawSyscall.SYS_mremap, start, end - start, end - start, 3 /* MREMAP_MAYMOVE|MREMAP_FIXED */, to);
            if (r != (long)to) throw Fail($"pid {pid}: moving the vDSO to {savedVdso:x} failed: errno {-r}");
        }
    }

    private static void SetRegisters(IPlatformContext ctx, int pid, TaskImage ti)
    {
        var (regs, fpu) = SanitizedRegisters(pid, ti, ctx.Regs);
        ctx.Regs = regs;
        ctx.SetFpu(fpu);
    }

    /// <summary>The saved registers made safe to load: segment selectors from <paramref name="host"/> (a stub's own), user flags only, MXCSR's reserved bits clear.</summary>
    private static (Registers Regs, FpuState Fpu) SanitizedRegisters(int pid, TaskImage ti, in Registers host)
    {
        if (ti.Registers.Length != Marshal.SizeOf<Registers>() || ti.Fpu.Length != FpuState.Size) throw Fail($"pid {pid}: malformed registers");
        var r = MemoryMarshal.Read<Registers>(ti.Registers);
        if (r.Rip >= UserSpaceEnd || r.FsBase >= UserSpaceEnd || r.GsBase >= UserSpaceEnd)
            throw Fail($"pid {pid}: registers point outside user space");
        r.Cs = host.Cs; r.Ss = host.Ss; r.Ds = host.Ds; r.Es = host.Es; r.Fs = host.Fs; r.Gs = host.Gs;
        // Only the flags user code may change (CF PF AF ZF SF TF DF OF, AC, ID) and the reserved bit 1.
        r.Eflags = (r.Eflags & 0x254dd5UL) | 0x2;
        FpuState fpu = default;
        unsafe
        {
            ti.Fpu.CopyTo(new Span<byte>(&fpu, FpuState.Size));
            fpu.Bytes[26] = 0; fpu.Bytes[27] = 0;
        }
        return (r, fpu);
    }
}
