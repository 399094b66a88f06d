namespace RunscNet.Gofer.Interop;

/// <summary>
/// Linux errno numbers (asm-generic/errno-base.h, errno.h) the gofer and its client return as
/// <c>-errno</c>. Internal so it never clashes with the Sentry's own <c>Errno</c>.
/// </summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, E2BIG = 7, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11,
        ENOMEM = 12, EACCES = 13, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21,
        EINVAL = 22, EMFILE = 24, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31, EPIPE = 32,
        ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
        EPROTO = 71, EBADMSG = 74, EOVERFLOW = 75, ENOTSOCK = 88, EMSGSIZE = 90, EPROTOTYPE = 91,
        EPROTONOSUPPORT = 93, EOPNOTSUPP = 95, EAFNOSUPPORT = 97, EADDRINUSE = 98,
        ECONNRESET = 104, ECONNREFUSED = 111, ESTALE = 116;
}
