namespace RunscNet.LinuxInterop;

/// <summary>
/// Linux errno values (asm-generic/errno-base.h, asm-generic/errno.h), the one list every
/// assembly uses: system-call handlers and the gofer return <c>-Errno.X</c>. The ERESTART*
/// values (include/linux/errno.h) are kernel-internal and never reach the application.
/// Constants, unlike Tmds.LibC's errno properties, so they can label a switch.
/// </summary>
public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
        ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, EWOULDBLOCK = EAGAIN, ENOMEM = 12, EACCES = 13,
        EFAULT = 14, ENOTBLK = 15, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20,
        EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27,
        ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31, EPIPE = 32, EDOM = 33, ERANGE = 34,
        EDEADLK = 35, ENAMETOOLONG = 36, ENOLCK = 37, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40,
        ENOMSG = 42, EIDRM = 43, ENODATA = 61, ETIME = 62, EPROTO = 71, EBADMSG = 74, EOVERFLOW = 75,
        EBADFD = 77, ELIBBAD = 80, EILSEQ = 84, ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90,
        EPROTOTYPE = 91, ENOPROTOOPT = 92, EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95,
        EPFNOSUPPORT = 96, EAFNOSUPPORT = 97, EADDRINUSE = 98, EADDRNOTAVAIL = 99, ENETDOWN = 100,
        ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104, ENOBUFS = 105, EISCONN = 106,
        ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111, EHOSTUNREACH = 113, EALREADY = 114,
        EINPROGRESS = 115, ESTALE = 116, EDQUOT = 122, ECANCELED = 125, EOWNERDEAD = 130;

    /// <summary>Restart the call after the handler if SA_RESTART is set, else EINTR.</summary>
    public const int ERESTARTSYS = 512;
    /// <summary>Always restart the call after signal handling.</summary>
    public const int ERESTARTNOINTR = 513;
    /// <summary>Restart if no handler ran, else EINTR.</summary>
    public const int ERESTARTNOHAND = 514;
    /// <summary>Restart via restart_syscall (nanosleep and friends).</summary>
    public const int ERESTART_RESTARTBLOCK = 516;
}
