using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// The capabilities of the boot process and its stubs. Boot runs as root of a user namespace of
/// its own (mapped to an unprivileged host uid, see the runtime's Sandbox), so whatever it holds
/// counts over that namespace and the namespaces it owns only; the runtime has already limited
/// its bounding set to what it uses there. The stubs it starts must hold none at all.
/// </summary>
internal static class SentryPrivileges
{
    private const int PR_SET_SECUREBITS = 28, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_CLEAR_ALL = 4;

    /// <summary>
    /// SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | its lock: an execve
    /// by uid 0 no longer grants the permitted and effective sets, and no ambient capability can
    /// be raised, so a stub (an execveat of a memfd without file capabilities) starts with none;
    /// the locks keep anyone (a Sentry taken over) from turning that off. Boot's own sets are
    /// not touched (securebits act at execve).
    /// </summary>
    public const ulong StubSecureBits = 0x01 | 0x02 | 0x40 | 0x80;

    /// <summary>Sets <see cref="StubSecureBits"/> (needs CAP_SETPCAP in boot's user namespace); logs a failure.</summary>
    public static void LockStubsOutOfCapabilities(DebugLog log)
    {
        HostIo.Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (HostIo.Prctl(PR_SET_SECUREBITS, (long)StubSecureBits, 0, 0, 0) != 0)
            log.Write("boot: PR_SET_SECUREBITS failed: stubs may start with capabilities");
    }
}
