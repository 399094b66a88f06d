using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// Reduces the gofer's capabilities to those its file operations need: CAP_CHOWN,
/// CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID. Capabilities are per thread in
/// Linux: this drops them (bounding, effective, permitted, inheritable, ambient) for the calling
/// thread, which is the one that serves; the seccomp filter, which covers every thread, is what
/// keeps the other runtime threads from using theirs (no mount, setns, ptrace, ...).
/// </summary>
internal static class CapabilityDrop
{
    /// <summary>The capability numbers kept.</summary>
    public static readonly int[] Kept = { 0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 2 /* DAC_READ_SEARCH */, 3 /* FOWNER */, 4 /* FSETID */ };

    /// <summary>Drops every other capability of the calling thread. Returns 0 or -errno.</summary>
    public static unsafe int DropAllButKept()
    {
        for (int cap = 0; cap < 64; cap++)
        {
            if (Array.IndexOf(Kept, cap) < 0 && ProcessSecurity.Prctl(ProcessSecurity.PR_CAPBSET_DROP, (ulong)cap, 0, 0, 0) < 0)
            {
                int r = Files.Result(-1);
                if (r != -Errno.EINVAL) // EINVAL: beyond the kernel's last capability
                {
                    return r;
                }
            }
        }
        ProcessSecurity.Prctl(ProcessSecurity.PR_CAP_AMBIENT, ProcessSecurity.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        uint mask = 0;
        foreach (int cap in Kept)
        {
            mask |= 1u << cap;
        }
        var header = new CapabilityHeader { Version = ProcessSecurity.LinuxCapabilityVersion3, Pid = 0 };
        CapabilityData* data = stackalloc CapabilityData[2];
        data[0] = new CapabilityData { Effective = mask, Permitted = mask, Inheritable = 0 };
        data[1] = default;
        return Files.Result(ProcessSecurity.CapSet(&header, data));
    }
}
