using System.Runtime.InteropServices;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// Moves the boot process (the Sentry) into an empty root once it is set up, so that a Sentry
/// taken over by the application finds no host file system to work on: the root becomes a small
/// read-only tmpfs holding only a proc mounted for the sandbox's own PID namespace (the .NET
/// runtime reads /proc/self), and the host's tree is detached from the boot's mount namespace.
/// Everything the Sentry touches afterwards comes from fds it already holds (the gofer socket,
/// memfds, the control socket, stdio, the debug log) and the container's state directory, kept
/// as an O_PATH fd and reached as /proc/self/fd/N.
/// </summary>
internal static class EmptyRoot
{
    private const long SYS_mount = 165, SYS_umount2 = 166, SYS_pivot_root = 155, SYS_chdir = 80, SYS_mkdir = 83,
        SYS_rmdir = 84, SYS_openat = 257;
    private const long MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_REC = 0x4000,
        MS_PRIVATE = 1 << 18;
    private const long MNT_DETACH = 2, AT_FDCWD = -100, O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

    /// <summary>Where the new root is assembled: a directory every Linux host has, hidden in our own mount namespace only.</summary>
    private const string Staging = "/proc";

    /// <summary>
    /// Pivots into the empty root. <paramref name="stateDir"/> (the --root directory, or empty)
    /// is kept open; the returned path reaches it from the new root (empty when none). On a
    /// failure (e.g. no privilege to mount) the process stays where it is and says so in the log.
    /// </summary>
    public static string Enter(string stateDir, DebugLog log)
    {
        string kept = stateDir;
        long dirFd = -1;
        if (stateDir.Length > 0)
        {
            dirFd = WithPath(stateDir, p => RawSyscall.Checked(SYS_openat, AT_FDCWD, p, O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (dirFd < 0) log.Write($"boot: state directory {stateDir}: errno {-dirFd}");
        }
        string? failure = Pivot();
        if (failure != null)
        {
            log.Write($"boot: staying in the host root: {failure}");
            if (dirFd >= 0) HostIo.Close((int)dirFd);
            return kept;
        }
        log.Write("boot: running in an empty root");
        return dirFd >= 0 ? $"/proc/self/fd/{dirFd}" : "";
    }

    /// <summary>The mount steps; null on success, else what failed.</summary>
    private static string? Pivot()
    {
        // Private first: nothing below may propagate back to the host's mount namespace.
        long r = Mount(null, "/", null, MS_REC | MS_PRIVATE, null);
        if (r < 0) return $"making / private: errno {-r}";
        r = Mount("runsc-net-root", Staging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=16k,nr_inodes=8");
        if (r < 0) return $"mounting the empty root: errno {-r}";
        r = WithPath(Staging + "/proc", p => RawSyscall.Checked(SYS_mkdir, p, 0x16d /* 0555 */));
        if (r >= 0) r = WithPath(Staging + "/old", p => RawSyscall.Checked(SYS_mkdir, p, 0x1c0 /* 0700 */));
        if (r < 0) return $"populating the empty root: errno {-r}";
        // A proc of the sandbox's own PID namespace: the boot process and its stubs, nothing of the host.
        r = Mount("proc", Staging + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
        if (r < 0) return $"mounting proc: errno {-r}";
        r = WithPath(Staging, n => WithPath(Staging + "/old", o => RawSyscall.Checked(SYS_pivot_root, n, o)));
        if (r < 0) return $"pivot_root: errno {-r}";
        r = WithPath("/", p => RawSyscall.Checked(SYS_chdir, p));
        if (r >= 0) r = WithPath("/old", p => RawSyscall.Checked(SYS_umount2, p, MNT_DETACH));
        if (r < 0) return $"detaching the host root: errno {-r}";
        WithPath("/old", p => RawSyscall.Checked(SYS_rmdir, p));
        r = Mount(null, "/", null, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
        return r < 0 ? $"making the empty root read-only: errno {-r}" : null;
    }

    private static long Mount(string? source, string target, string? type, long flags, string? data)
    {
        IntPtr s = Utf8(source), t = Utf8(target), ty = Utf8(type), d = Utf8(data);
        try
        {
            return RawSyscall.Checked(SYS_mount, s, t, ty, flags, d);
        }
        finally
        {
            Marshal.FreeCoTaskMem(s);
            Marshal.FreeCoTaskMem(t);
            Marshal.FreeCoTaskMem(ty);
            Marshal.FreeCoTaskMem(d);
        }
    }

    private static long WithPath(string path, Func<long, long> call)
    {
        IntPtr p = Utf8(path);
        try
        {
            return call(p);
        }
        finally
        {
            Marshal.FreeCoTaskMem(p);
        }
    }

    private static IntPtr Utf8(string? s) => s == null ? IntPtr.Zero : Marshal.StringToCoTaskMemUTF8(s);
}
