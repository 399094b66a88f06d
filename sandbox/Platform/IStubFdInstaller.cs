namespace RunscNet.Sentry.Platform;

/// <summary>
/// A platform context that can put a copy of one of the Sentry's host fds into the stub process
/// that holds the address space, so the host kernel maps the file itself: shared file mappings
/// (MAP_SHARED, whose writes must reach the file and other mappers) and private ones without
/// copying. Contexts without it fall back to copying file data into anonymous memory.
/// </summary>
internal interface IStubFdInstaller
{
    /// <summary>
    /// Installs a copy of <paramref name="hostFd"/> in the stub; returns its number there (the
    /// caller closes it with a host close once mapped) or -errno.
    /// </summary>
    long InstallFd(int hostFd);
}
