using RunscNet.Sentry.Loader;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Kernel;

internal sealed partial class Task
{
    /// <summary>Where a long operation is (diagnostics of hangs).</summary>
    public string DebugPhase { get; set; } = "";

    /// <summary>
    /// execve(2): loads <paramref name="path"/> into a brand-new address space (a new stub) and,
    /// only once that fully succeeded, replaces the old one, so a failed exec leaves the caller
    /// intact. Then: caught signals reset to SIG_DFL, close-on-exec fds closed, the alternate
    /// stack disabled, the vfork parent released, comm set from the file name. In a process with
    /// several threads the others end first, and a non-leader caller takes over the thread
    /// group's ID, as on Linux. Returns 0 or -errno.
    /// </summary>
    public int Execve(string path, List<string> argv, List<string> envp)
    {
        DebugPhase = "exec: prepare";
        int err = ExecLoader.Prepare(this, path, argv, envp, out var image);
        if (err < 0) return err;
        image!.NewCredentials = CredentialsForExec(image, out bool secure);
        image.Secure = secure;
        DebugPhase = "exec: new stub";
        var ctx = Kernel.Platform.NewAddressSpace();
        DebugPhase = "exec: build " + ctx.HostPid;
        var mm = new AddressSpace(ctx);
        try
        {
            err = ExecLoader.Build(this, image!, mm, out var regs);
            if (err < 0)
            {
                ctx.Dispose();
                return err;
            }
            ctx.Regs = regs;
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
        finally
        {
            image!.File.DecRef();
            image.InterpreterFile?.DecRef();
        }

        if (!KillOtherThreads())
        {
            ctx.Dispose();
            return -Errno.EINTR;   // the process is exiting anyway
        }
        // The old image's robust locks die with it (the kernel's exec_mm_release).
        ReleaseRobustFutexes();
        // ru_maxrss outlives the old image (Linux's setmax_mm_hiwater_rss at exec).
        long oldPeakKb = PeakRssKb();
        lock (Kernel.TaskLock) ThreadGroup.MaxRssKb = Math.Max(ThreadGroup.MaxRssKb, oldPeakKb);
        var old = Context;
        Context = ctx;
        Credentials = image.NewCredentials;
        Memory = ctx.Memory;
        var tg = ThreadGroup;
        tg.AddressSpace = mm;
        DebugPhase = "exec: dispose old";
        old?.Dispose();
        DebugPhase = "exec: done";

        lock (Kernel.TaskLock)
        {
            tg.Handlers = tg.Handlers.ForExec();
            AltStack = new SignalFrame.AltStack(0, SS_DISABLE, 0);
            SavedSignalMask = null;
            tg.VforkDone?.Set();
            tg.VforkDone = null;
        }
        tg.PosixTimers.DeleteAll();
        ClearChildTid = 0;
        RobustList = 0;
        tg.Dumpable = 1;
        RestartBlock = null;
        string fn = image!.ExecFn;
        int slash = fn.LastIndexOf('/');
        Name = slash >= 0 ? fn[(slash + 1)..] : fn;
        OnExecFiles();
        return 0;
    }

    /// <summary>
    /// The credentials the exec of <paramref name="image"/> gives (capabilities(7)): the file's
    /// set-user/group-ID bits count unless its mount is nosuid; no_new_privs and the ambient set
    /// are honoured by <see cref="Credentials.ForExec"/>.
    /// </summary>
    private Credentials CredentialsForExec(ExecImage image, out bool secure)
    {
        var attr = image.File.Inode?.Attr ?? default;
        bool nosuid = image.File.Location is { } loc && (loc.Mount.Flags & Vfs.MountFlags.NoSuid) != 0;
        bool setUid = !nosuid && (attr.Mode & 0x800) != 0;                       // S_ISUID
        bool setGid = !nosuid && (attr.Mode & 0x400) != 0 && (attr.Mode & 0x8) != 0;   // S_ISGID with group execute
        return Credentials.ForExec(attr.Uid, attr.Gid, setUid, setGid, NoNewPrivileges, out secure);
    }

    /// <summary>
    /// execve's de-thread: makes every other thread of the process exit, waits until they are
    /// gone, and gives this task the process's ID (the leader's TID). False when the process
    /// started exiting meanwhile.
    /// </summary>
    private bool KillOtherThreads()
    {
        var tg = ThreadGroup;
        lock (Kernel.TaskLock)
        {
            if (tg.Exiting) return false;
            if (tg.Tasks.Count == 1 && Tid == tg.Tgid) return true;
            foreach (var t in tg.Tasks) if (t != this) t.KillThreadLocked();
        }
        while (true)
        {
            bool Done()
            {
                lock (Kernel.TaskLock) return tg.Tasks.Count == 1 || tg.Exiting || _threadExitRequested;
            }
            var r = Block(Done, tg.TaskExitEvents);
            if (r == BlockResult.Ready) break;
            ClearInterrupt();   // a signal: it is delivered after the exec; keep waiting
        }
        lock (Kernel.TaskLock)
        {
            if (tg.Exiting || _threadExitRequested) return false;
            if (Tid != tg.Tgid)
            {
                Kernel.UnregisterTaskLocked(this);
                Tid = tg.Tgid;
                Kernel.RegisterLocked(this);
            }
        }
        return true;
    }
}
