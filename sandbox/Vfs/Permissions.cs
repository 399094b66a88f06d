using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs;

/// <summary>
/// Linux's permission rules (generic_permission, capabilities(7)): owner/group/other bits
/// against the filesystem uid/gid, overridden by CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH.
/// </summary>
internal static class Permissions
{
    /// <summary>Access bits for <see cref="Check"/>.</summary>
    public const int MayRead = 4, MayWrite = 2, MayExec = 1;

    /// <summary>capability numbers (linux/capability.h).</summary>
    public const int CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2, CAP_FOWNER = 3,
        CAP_FSETID = 4, CAP_SYS_CHROOT = 18, CAP_SYS_ADMIN = 21, CAP_MKNOD = 27;

    /// <summary>Returns 0 if <paramref name="creds"/> may access a file with <paramref name="attr"/> as <paramref name="may"/>, else -EACCES.</summary>
    public static int Check(Credentials creds, in InodeAttr attr, int may)
    {
        uint mode = attr.Mode;
        uint bits;
        if (creds.Fsuid == attr.Uid) bits = (mode >> 6) & 7;
        else if (creds.InGroup(attr.Gid)) bits = (mode >> 3) & 7;
        else bits = mode & 7;
        if (((uint)may & ~bits) == 0) return 0;

        bool isDir = LinuxMode.IsDir(mode);
        if (!Mapped(attr)) return -Errno.EACCES;
        if (creds.HasCapability(CAP_DAC_OVERRIDE))
        {
            // Execute needs at least one execute bit on non-directories, even for root.
            if ((may & MayExec) == 0 || isDir || (mode & 0x49) != 0) return 0;
            return -Errno.EACCES;
        }
        if (creds.HasCapability(CAP_DAC_READ_SEARCH))
        {
            int rest = may & ~MayRead;
            if (isDir) rest &= ~MayExec;
            if (((uint)rest & ~bits) == 0) return 0;
        }
        return -Errno.EACCES;
    }

    /// <summary>
    /// capable_wrt_inode_uidgid: a capability acts on a file only when the container's user
    /// namespace maps its owner and group (an unmapped host owner is out of the container's reach).
    /// </summary>
    public static bool Mapped(in InodeAttr attr) => attr.Uid != UserNamespace.Unmapped && attr.Gid != UserNamespace.Unmapped;

    /// <summary>True if the caller owns the file or has CAP_FOWNER (chmod, utimes with explicit times).</summary>
    public static bool IsOwner(Credentials creds, in InodeAttr attr)
        => creds.Fsuid == attr.Uid || (creds.HasCapability(CAP_FOWNER) && Mapped(attr));

    /// <summary>
    /// The sticky-directory rule for unlink/rename: in a directory with S_ISVTX only the owner of
    /// the file or of the directory (or CAP_FOWNER) may remove an entry. Returns 0 or -EPERM.
    /// </summary>
    public static int CheckSticky(Credentials creds, in InodeAttr dir, in InodeAttr file)
    {
        if ((dir.Mode & LinuxMode.S_ISVTX) == 0) return 0;
        if (creds.Fsuid == file.Uid || creds.Fsuid == dir.Uid || (creds.HasCapability(CAP_FOWNER) && Mapped(file))) return 0;
        return -Errno.EPERM;
    }
}
