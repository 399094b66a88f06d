namespace RunscNet.Sentry.Boot;

/// <summary>Capability names of the OCI spec ("CAP_NET_ADMIN") and their numbers (linux/capability.h).</summary>
public static class Capabilities
{
    private static readonly string[] Names =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };

    /// <summary>Every capability name, in number order (the features document lists them).</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>True if <paramref name="name"/> names a capability this kernel knows (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE).</summary>
    public static bool IsKnown(string name) => Array.IndexOf(Names, name.ToUpperInvariant()) >= 0;

    /// <summary>The set of the named capabilities (unknown names are refused at create; see SpecValidator); null list gives <paramref name="fallback"/>.</summary>
    public static ulong FromNames(IEnumerable<string>? names, ulong fallback)
    {
        if (names == null) return fallback;
        ulong set = 0;
        foreach (var n in names)
        {
            int i = Array.IndexOf(Names, n.ToUpperInvariant());
            if (i >= 0) set |= 1UL << i;
        }
        return set;
    }
}
