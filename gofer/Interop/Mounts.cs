using System.Runtime.InteropServices;

namespace RunscNet.Gofer.Interop;

/// <summary>Mount-namespace calls of libc: mount, umount2, pivot_root, chdir.</summary>
internal static unsafe partial class Mounts
{
    public const ulong MS_RDONLY = 0x1, MS_NOSUID = 0x2, MS_NODEV = 0x4, MS_NOEXEC = 0x8, MS_REMOUNT = 0x20,
        MS_NOATIME = 0x400, MS_NODIRATIME = 0x800, MS_BIND = 0x1000, MS_REC = 0x4000, MS_UNBINDABLE = 0x20000,
        MS_PRIVATE = 0x40000, MS_SLAVE = 0x80000, MS_SHARED = 0x100000, MS_RELATIME = 0x200000,
        MS_STRICTATIME = 0x1000000;
    public const int MNT_DETACH = 2;

    /// <summary>statfs f_flags bits (ST_*), which a bind remount must keep when they are locked.</summary>
    public const long ST_RDONLY = 1, ST_NOSUID = 2, ST_NODEV = 4, ST_NOEXEC = 8, ST_NOATIME = 1024,
        ST_NODIRATIME = 2048, ST_RELATIME = 4096;

    /// <summary>PROC_SUPER_MAGIC: statfs f_type of procfs.</summary>
    public const long ProcSuperMagic = 0x9FA0;

    private const long SYS_pivot_root = 155; // x86_64

    /// <summary>mount(2) with no file-system options.</summary>
    public static int Mount(string? source, string target, string? fileSystemType, ulong flags) =>
        LibcCalls.Mount(source, target, fileSystemType, flags, null);

    /// <summary>mount(2) with a file-system-specific option string.</summary>
    public static int MountWithData(string source, string target, string fileSystemType, ulong flags, string? data) =>
        LibcCalls.Mount(source, target, fileSystemType, flags, data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unmount(string target, int flags);

    public static int Chdir(string path) => LibcCalls.Chdir(path);

    /// <summary>pivot_root(2) (glibc has no wrapper). Returns 0 or -1 with errno.</summary>
    public static unsafe int PivotRoot(string newRoot, string putOld)
    {
        byte[] a = System.Text.Encoding.UTF8.GetBytes(newRoot + "\0"), b = System.Text.Encoding.UTF8.GetBytes(putOld + "\0");
        fixed (byte* pa = a, pb = b)
            return (int)LibcCalls.Syscall(SYS_pivot_root, (long)pa, (long)pb, 0, 0, 0, 0);
    }
}
