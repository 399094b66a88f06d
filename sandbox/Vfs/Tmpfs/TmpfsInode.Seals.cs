using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Tmpfs;

/// <summary>
/// File seals (fcntl(2) F_ADD_SEALS/F_GET_SEALS, memfd_create(2)): Linux keeps them on every
/// shmem inode, so a tmpfs file has them, and one not made by memfd_create with
/// MFD_ALLOW_SEALING starts with F_SEAL_SEAL (nothing can be added). The Sentry records the set;
/// the seals that restrict the data (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_GROW,
/// F_SEAL_SHRINK) are also added to the host memfd holding the data, whose kernel then enforces
/// them exactly as Linux: write(2) and ftruncate(2) through the Sentry give EPERM, the stubs' new
/// shared writable mappings EPERM, and F_SEAL_WRITE while a shared writable mapping exists EBUSY
/// (the host counts the stubs' mappings). F_SEAL_EXEC is the Sentry's (chmod, in SetAttr).
/// </summary>
internal sealed partial class TmpfsInode
{
    /// <summary>F_SEAL_* bits (fcntl.h).</summary>
    public const int SealSeal = 1, SealShrink = 2, SealGrow = 4, SealWrite = 8, SealFutureWrite = 0x10, SealExec = 0x20;

    private const int AllSeals = SealSeal | SealShrink | SealGrow | SealWrite | SealFutureWrite | SealExec;
    private const int DataSeals = SealShrink | SealGrow | SealWrite | SealFutureWrite;
    private const int F_ADD_SEALS = 1033;

    /// <summary>The seals of this file (F_GET_SEALS).</summary>
    public int Seals { get; private set; } = SealSeal;

    /// <summary>Sets the initial seals of a new memfd (0 with MFD_ALLOW_SEALING, F_SEAL_EXEC with MFD_NOEXEC_SEAL).</summary>
    internal void InitSeals(int seals) => Seals = seals;

    /// <summary>
    /// F_ADD_SEALS (memfd_add_seals): EINVAL for unknown bits, EPERM once F_SEAL_SEAL is set,
    /// EBUSY for F_SEAL_WRITE while the data is mapped shared and writable. The caller checked
    /// that the description is writable (EPERM otherwise) and the file a regular tmpfs file.
    /// </summary>
    public int AddSeals(int seals)
    {
        if ((seals & ~AllSeals) != 0) return -Errno.EINVAL;
        lock (_lock)
        {
            if ((Seals & SealSeal) != 0) return -Errno.EPERM;
            // F_SEAL_EXEC on an executable file implies the write, grow and shrink seals.
            if ((seals & SealExec) != 0 && (_attr.Mode & 0x49) != 0) seals |= DataSeals;
            int host = seals & DataSeals & ~Seals;
            if (host != 0 && HostFiles.fcntl(DataFd, F_ADD_SEALS, host) < 0) return HostFiles.Neg();
            Seals |= seals;
            return 0;
        }
    }
}
