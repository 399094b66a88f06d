using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Process;

/// <summary>
/// Reduces the gofer's capabilities to those its file operations need: CAP_CHOWN,
/// CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, on the serving thread, and to
/// none on every other thread of the process.
/// Capabilities are per thread in Linux and the .NET runtime has threads of its own, so the
/// calling thread limits its bounding set, then the whole process changes uid from 0 to
/// <see cref="UnprivilegedUid"/> with glibc's setresuid (which makes every thread do it): the
/// kernel clears the permitted and effective sets of every thread, except that the calling
/// thread keeps its permitted set (PR_SET_KEEPCAPS, per thread); a capset then leaves it the kept
/// capabilities, effective. The gofer always sets owners explicitly (chown after create), so its own
/// uid does not show on files.
/// </summary>
internal static class CapabilityDrop
{
    /// <summary>The capability numbers kept.</summary>
    public static readonly int[] Kept = { 0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 2 /* DAC_READ_SEARCH */, 3 /* FOWNER */, 4 /* FSETID */ };

    /// <summary>The uid the gofer runs as after dropping (the overflow uid "nobody").</summary>
    public const uint UnprivilegedUid = 65534;

    /// <summary>
    /// Drops every other capability of the calling thread and all capabilities of the others.
    /// Returns 0 or -errno; <paramref name="allThreads"/> tells whether the other threads lost
    /// theirs too (false when the uid change was refused, e.g. an unmapped uid in a user namespace).
    /// </summary>
    public static unsafe int DropAllButKept(out bool allThreads)
    {
        allThreads = false;
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
        // The uid change needs CAP_SETUID in every thread, so it comes before the capset. A
        // failure is the same in every thread (e.g. EINVAL for an unmapped uid), so glibc returns it.
        if (ProcessSecurity.GetUid() == 0 &&
            ProcessSecurity.Prctl(ProcessSecurity.PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0)
        {
            allThreads = ProcessSecurity.SetResUid(UnprivilegedUid, UnprivilegedUid, UnprivilegedUid) == 0;
            ProcessSecurity.Prctl(ProcessSecurity.PR_SET_KEEPCAPS, 0, 0, 0, 0);
        }
        return SetKept(); // also raises the effective set the uid change cleared
    }

    /// <summary>capset: effective = permitted = the kept capabilities, inheritable empty.</summary>
    private static unsafe int SetKept()
    {
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
