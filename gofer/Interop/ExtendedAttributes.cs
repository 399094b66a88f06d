using System.Runtime.InteropServices;

namespace RunscNet.Gofer.Interop;

/// <summary>Extended-attribute calls of libc on open fds (fgetxattr and friends).</summary>
internal static unsafe partial class ExtendedAttributes
{
    /// <summary>XATTR_SIZE_MAX: the largest value Linux stores.</summary>
    public const int MaxValueSize = 65536;

    /// <summary>XATTR_LIST_MAX: the largest name list Linux returns.</summary>
    public const int MaxListSize = 65536;

    /// <summary>XATTR_NAME_MAX.</summary>
    public const int MaxNameLength = 255;

    [LibraryImport("libc", EntryPoint = "fgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FGetXattr(int fd, string name, byte* value, nuint size);

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FSetXattr(int fd, string name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "flistxattr", SetLastError = true)]
    public static partial nint FListXattr(int fd, byte* list, nuint size);

    [LibraryImport("libc", EntryPoint = "fremovexattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FRemoveXattr(int fd, string name);
}
