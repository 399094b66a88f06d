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
/// memfds, the control socket, stdio, the debug log, the exit record; docs/ARCHITECTURE.md lists
/// them) or from its own proc. Boot runs in a user namespace of its own (as an unprivileged host
/// uid) that owns its mount and PID namespaces, so these mounts need no host privilege.
/// </summary>
internal static class EmptyRoot
{
    private const long SYS_mount = 165, SYS_umount2 = 166, SYS_pivot_root = 155, SYS_chdir = 80, SYS_mkdir = 83,
        SYS_rmdir = 84;
    private const long MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_BIND = 0x1000, MS_REC = 0x4000,
        MS_PRIVATE = 1 << 18;
    private const long MNT_DETACH = 2;

    /// <summary>Where the new root is assembled: a directory every Linux host has, hidden in our own mount namespace only.</summary>
    private const string Staging = "/proc";

    /// <summary>
    /// Pivots into the empty root. On a failure (e.g. no privilege to mount) the process stays
    /// where it is and says so in the log.
    /// </summary>
    public static void Enter(DebugLog log)
    {
        string? failure = Pivot();
        log.Write(failure != null ? $"boot: staying in the host root: {failure}" : "boot: running in an empty root");
    }

    /// <summary>The mount steps; null on success, else what failed.</summary>
    private static string? Pivot()
    {
        // Private first: nothing below may propagate back to the host's mount namespace.
        long r = Mount(null, "/", null, MS_REC | MS_PRIVATE, null);
        if (r < 0) return $"making / private: errno {-r}";
        r = Mount("runsc-net-root", Staging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k,nr_inodes=64");
        if (r < 0) return $"mounting the empty root: errno {-r}";
        r = WithPath(Staging + "/proc", p => RawSyscall.Checked(SYS_mkdir, p, 0x16d /* 0555 */));
        if (r >= 0) r = WithPath(Staging + "/old", p => RawSyscall.Checked(SYS_mkdir, p, 0x1c0 /* 0700 */));
        if (r < 0) return $"populating the empty root: errno {-r}";
        // A proc of the sandbox's own PID namespace: the boot process and its stubs, nothing of the host.
        r = Mount("proc", Staging + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
        if (r < 0) return $"mounting proc: errno {-r}";
        string? cgroups = BindCgroups();
        if (cgroups != null) return cgroups;
        r = WithPath(Staging, n => WithPath(Staging + "/old", o => RawSyscall.Checked(SYS_pivot_root, n, o)));
        if (r < 0) return $"pivot_root: errno {-r}";
        r = WithPath("/", p => RawSyscall.Checked(SYS_chdir, p));
        if (r >= 0) r = WithPath("/old", p => RawSyscall.Checked(SYS_umount2, p, MNT_DETACH));
        if (r < 0) return $"detaching the host root: errno {-r}";
        WithPath("/old", p => RawSyscall.Checked(SYS_rmdir, p));
        r = Mount(null, "/", null, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
        return r < 0 ? $"making the empty root read-only: errno {-r}" : null;
    }

    /// <summary>
    /// The sandbox's own cgroup directories (the container's cgroup view reads them), each bound
    /// read-only at <c>/cgroup/N</c> of the new root: the Sentry reaches them by path, holding no fd.
    /// </summary>
    private static string? BindCgroups()
    {
        var views = Vfs.Cgroup.HostCgroups.Hierarchies.Where(h => h.HostDir != null).ToList();
        if (views.Count == 0) return null;
        // 0755 while it is filled (boot has no DAC_OVERRIDE); the whole root is made read-only after.
        long r = WithPath(Staging + Vfs.Cgroup.HostCgroups.ViewRoot, p => RawSyscall.Checked(SYS_mkdir, p, 0x1ed));
        if (r < 0) return $"cgroup view directory: errno {-r}";
        foreach (var h in views)
        {
            string target = Staging + h.ViewPath;
            r = WithPath(target, p => RawSyscall.Checked(SYS_mkdir, p, 0x16d));
            if (r >= 0) r = Mount(h.HostDir, target, null, MS_BIND, null);
            if (r >= 0) r = Mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
            if (r < 0) return $"binding cgroup {h.HostDir}: errno {-r}";
        }
        return null;
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
