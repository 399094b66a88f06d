using System.Runtime.InteropServices;
using System.Text.Json;
using static RunscNet.LinuxInterop.Errno;
using static RunscNet.LinuxInterop.OpenFlags;
using static RunscNet.StateFile.Interop.FileSystem;

namespace RunscNet.StateFile;

/// <summary>How <see cref="StateFile.Lock"/> behaves when another process holds the lock.</summary>
public enum LockMode
{
    /// <summary>Wait until the lock is free.</summary>
    Wait,
    /// <summary>Fail at once with <see cref="StateFileLockedException"/>.</summary>
    TryLock,
}

/// <summary>
/// One container's persisted state, safe to use from several processes at once. The state is
/// <c>&lt;root&gt;/&lt;cid&gt;_sand:&lt;sid&gt;.state</c>; beside it <c>.lock</c> carries an exclusive flock that
/// every writer holds. Writes are atomic (temp file, rename over), so a crashed or killed writer
/// leaves either the old or the new state, never a torn one. Nothing is fsync'ed (as runc): the
/// state describes running processes, which a power loss ends anyway, and a sync on a busy disk
/// costs each lifecycle command tens of milliseconds.
/// </summary>
/// <remarks>Not thread-safe: one instance per operation. Dispose releases the lock.</remarks>
public sealed class StateFile : IDisposable
{
    // A raw number on purpose: the flock lives until Unlock/Dispose (or our exit), never until a
    // finalizer decides the instance is unreachable.
    private int _lockFd = -1;

    /// <summary>Creates a handle for container <paramref name="id"/> under <paramref name="rootDir"/> (validates the IDs).</summary>
    public StateFile(string rootDir, FullId id)
    {
        id.Validate();
        RootDir = Path.GetFullPath(rootDir);
        Id = id;
    }

    /// <summary>The directory holding every container's state (the --root flag).</summary>
    public string RootDir { get; }

    /// <summary>Sandbox and container ID of this container.</summary>
    public FullId Id { get; }

    /// <summary>Path of the state file.</summary>
    public string StatePath => Path.Combine(RootDir, Id.FileStem + ".state");

    /// <summary>Path of the lock file.</summary>
    public string LockPath => Path.Combine(RootDir, Id.FileStem + ".lock");

    private string TempPath => StatePath + ".tmp";

    /// <summary>
    /// Path of the exit record: the sandbox process (which runs as an unprivileged user and holds
    /// no directory of ours) writes init's wait status as decimal text into this file, created by
    /// the runtime and handed to it open; <see cref="Read"/> folds it into the state.
    /// </summary>
    public string ExitPath => Path.Combine(RootDir, Id.FileStem + ".exit");

    /// <summary>True while this instance holds the lock.</summary>
    public bool IsLocked => _lockFd >= 0;

    /// <summary>True if the state file exists (no lock needed).</summary>
    public bool Exists => File.Exists(StatePath);

    /// <summary>
    /// Takes the lock and checks no container of this ID exists yet, so of several racing creates
    /// of one ID exactly one gets past here. On success the lock stays held.
    /// </summary>
    /// <exception cref="ContainerExistsException">A state file for this ID already exists.</exception>
    public void LockForNew()
    {
        CreateRootDirectory();
        Lock(LockMode.Wait);
        bool exists = File.Exists(StatePath)
            || Directory.EnumerateFiles(RootDir, Id.ContainerId + "_sand:*.state").Any();
        if (exists)
        {
            Unlock();
            throw new ContainerExistsException(Id.ContainerId);
        }
    }

    /// <summary>
    /// Takes the exclusive lock. With <see cref="LockMode.TryLock"/> fails at once with
    /// <see cref="StateFileLockedException"/> when another process holds it.
    /// </summary>
    public void Lock(LockMode mode = LockMode.Wait)
    {
        if (IsLocked) throw new InvalidOperationException("state file already locked by this instance");
        while (true)
        {
            using var fd = new FileDescriptor(Open(LockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0x1a0 /* 0640 */));
            if (fd.IsInvalid)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == ENOENT) CreateRootDirectory();
                else throw Failure("opening", LockPath, errno);
                continue;
            }
            int op = LOCK_EX | (mode == LockMode.TryLock ? LOCK_NB : 0);
            int rc;
            do { rc = Flock(fd.Number, op); } while (rc < 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (rc < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                fd.Dispose();
                if (errno == EWOULDBLOCK) throw new StateFileLockedException(Id.ContainerId);
                throw Failure("locking", LockPath, errno);
            }
            // A Destroy may have unlinked the lock file while we waited on it: then our lock is
            // on a dead inode that nobody else will see. Retry on the file now at the path.
            if (IsSameFile(fd.Number, LockPath))
            {
                _lockFd = fd.Release();
                return;
            }
        }
    }

    /// <summary>Releases the lock (no-op when not held).</summary>
    public void Unlock()
    {
        if (_lockFd < 0) return;
        Flock(_lockFd, LOCK_UN);
        FileDescriptor.Close(_lockFd);
        _lockFd = -1;
    }

    /// <summary>
    /// Writes <paramref name="state"/> atomically: temp file, rename over the state file.
    /// </summary>
    /// <remarks>Precondition: the lock is held.</remarks>
    public void SaveLocked(ContainerState state)
    {
        RequireLock();
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(state, StateJsonContext.Default.ContainerState);
        using (var fd = new FileDescriptor(Open(TempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0x1a0)))
        {
            if (fd.IsInvalid) throw Failure("creating", TempPath, Marshal.GetLastPInvokeError());
            WriteAll(fd.Number, json, TempPath);
        }
        if (Rename(TempPath, StatePath) < 0) throw Failure("renaming", TempPath, Marshal.GetLastPInvokeError());
    }

    /// <summary>Reads the state. Works without the lock too (writes are atomic), but may then be stale.</summary>
    /// <exception cref="ContainerNotFoundException">The state file does not exist.</exception>
    /// <exception cref="StateFileException">The state file cannot be read or parsed.</exception>
    public ContainerState Read()
    {
        byte[] json;
        try
        {
            json = File.ReadAllBytes(StatePath);
        }
        catch (FileNotFoundException)
        {
            throw new ContainerNotFoundException(Id.ContainerId);
        }
        catch (IOException e)
        {
            throw new StateFileException($"reading {StatePath}: {e.Message}");
        }
        try
        {
            var state = JsonSerializer.Deserialize(json, StateJsonContext.Default.ContainerState)
                ?? throw new JsonException("null");
            state.ExitStatus ??= ReadExitRecord();
            return state;
        }
        catch (JsonException e)
        {
            throw new StateFileException($"state file {StatePath} is corrupt: {e.Message}");
        }
    }

    /// <summary>The wait status in the exit record, or null (none written yet, or unreadable).</summary>
    private int? ReadExitRecord()
    {
        try
        {
            string text = File.ReadAllText(ExitPath).Trim();
            return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int status) ? status : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Removes the state file, a leftover temp file, the exit record and the lock file. May be called with the lock
    /// held; the lock must still be released (Unlock or Dispose) afterwards.
    /// </summary>
    public void Destroy()
    {
        foreach (string path in new[] { StatePath, TempPath, ExitPath, LockPath })
        {
            if (Unlink(path) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != ENOENT) throw Failure("removing", path, errno);
            }
        }
    }

    /// <summary>Information about the state file (no lock needed); its LastWriteTime tells when it was saved.</summary>
    public FileInfo Stat() => new(StatePath);

    /// <summary>Releases the lock.</summary>
    public void Dispose() => Unlock();

    private void RequireLock()
    {
        if (!IsLocked) throw new InvalidOperationException("the state file must be locked first");
    }

    /// <summary>
    /// Creates the root directory, mode 0700 (less the umask, which can only narrow it): the state
    /// files and control sockets in it are the creating user's business. A --root that exists
    /// already is the caller's and is left as it is.
    /// </summary>
    private void CreateRootDirectory()
    {
        if (Directory.Exists(RootDir)) return;
        string? parent = Path.GetDirectoryName(RootDir);
        if (parent != null) Directory.CreateDirectory(parent);
        if (Mkdir(RootDir, 0x1c0 /* 0700 */) < 0 && Marshal.GetLastPInvokeError() != EEXIST)
            throw Failure("creating", RootDir, Marshal.GetLastPInvokeError());
    }

    private static unsafe bool IsSameFile(int fd, string path)
    {
        LinuxStat a, b;
        if (Fstat(fd, &a) < 0 || StatPath(path, &b) < 0) return false;
        return a.Dev == b.Dev && a.Ino == b.Ino;
    }

    private static StateFileException Failure(string what, string path, int errno)
        => new($"{what} {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
}
