using System.Buffers.Binary;
using System.Text;
using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>System information and per-process controls: uname, hostname, limits, prctl, arch_prctl, futex, scheduling, randomness.</summary>
internal static partial class SystemSyscalls
{
    /// <summary>The Linux release the sandbox reports.</summary>
    public const string Release = "6.1.0";
    /// <summary>The version string (uname -v).</summary>
    public const string Version = "#1 SMP runsc-net";

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(63, "uname", Uname);
        t.Supported(170, "sethostname", (Task task, in SyscallArguments a) => SetName(task, a, true));
        t.Supported(171, "setdomainname", (Task task, in SyscallArguments a) => SetName(task, a, false));
        t.Supported(318, "getrandom", GetRandom);
        t.Partial(99, "sysinfo", SysInfo, "Memory figures are the host's.");
        t.Partial(309, "getcpu", (Task task, in SyscallArguments a) =>
        {
            if (a.A0 != 0 && task.Memory.CopyOutStruct(a.A0, 0u) != 0) return -Errno.EFAULT;
            if (a.A1 != 0 && task.Memory.CopyOutStruct(a.A1, 0u) != 0) return -Errno.EFAULT;
            return 0;
        }, "Always CPU 0, node 0.");
        t.Supported(24, "sched_yield", (Task task, in SyscallArguments a) => { Thread.Yield(); return 0; });
        t.Partial(148, "sched_rr_get_interval", (Task task, in SyscallArguments a) =>
        {
            var b = new byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), 100_000_000);
            return task.Memory.CopyOut(a.A1, b);
        }, "100 ms.");
        t.Partial(135, "personality", (Task task, in SyscallArguments a) => (uint)a.A0 == 0xffffffff || a.A0 == 0 ? 0 : -Errno.EINVAL,
            "Only PER_LINUX.");
        t.Supported(97, "getrlimit", (Task task, in SyscallArguments a) => Prlimit(task, 0, (int)a.A0, 0, a.A1));
        t.Supported(160, "setrlimit", (Task task, in SyscallArguments a) => Prlimit(task, 0, (int)a.A0, a.A1, 0));
        t.Supported(302, "prlimit64", (Task task, in SyscallArguments a) => Prlimit(task, (int)a.A0, (int)a.A1, a.A2, a.A3));
        t.Partial(157, "prctl", Prctl, "Names, parent-death signal, no_new_privs, dumpable, timer slack, subreaper, keepcaps, capability bounding-set reads.");
        t.Partial(158, "arch_prctl", ArchPrctl, "ARCH_SET_FS/GET_FS/SET_GS/GET_GS.");
        t.Partial(202, "futex", Futex, "WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET (CLOCK_REALTIME too), keyed per address space for private memory and across processes for shared mappings; no PI futexes.");
        t.Unimplemented(334, "rseq", "Returns ENOSYS; libc runs without restartable sequences.");
    }

    private static long Uname(Task t, in SyscallArguments a)
    {
        var b = new byte[65 * 6];
        void F(int i, string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            bytes.AsSpan(0, Math.Min(64, bytes.Length)).CopyTo(b.AsSpan(i * 65));
        }
        F(0, "Linux");
        F(1, t.Kernel.Hostname);
        F(2, Release);
        F(3, Version);
        F(4, "x86_64");
        F(5, t.Kernel.Domainname);
        return t.Memory.CopyOut(a.A0, b);
    }

    private static long SetName(Task t, in SyscallArguments a, bool host)
    {
        int len = (int)a.A1;
        if (len < 0 || len > 64) return -Errno.EINVAL;
        if (!t.Credentials.HasCapability(21)) return -Errno.EPERM;   // CAP_SYS_ADMIN
        // A UTS namespace shared with host processes is not the Sentry's to rename.
        if (t.Kernel.UtsShared) return -Errno.EPERM;
        var b = new byte[len];
        if (t.Memory.CopyIn(a.A0, b) != 0) return -Errno.EFAULT;
        int nul = Array.IndexOf(b, (byte)0);
        string name = Encoding.UTF8.GetString(b, 0, nul < 0 ? len : nul);
        if (host) t.Kernel.Hostname = name;
        else t.Kernel.Domainname = name;
        return 0;
    }

    private static unsafe long GetRandom(Task t, in SyscallArguments a)
    {
        const uint GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4;
        if (((uint)a.A2 & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) != 0) return -Errno.EINVAL;
        if (((uint)a.A2 & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE)) return -Errno.EINVAL;
        int len = (int)Math.Min(a.A1, 1 << 25);
        var b = new byte[len];
        Interop.HostRandom.Fill(b);
        if (t.Memory.CopyOut(a.A0, b) != 0) return -Errno.EFAULT;
        return len;
    }

    private static unsafe long SysInfo(Task t, in SyscallArguments a)
    {
        var host = new byte[112];
        fixed (byte* p = host) HostTime.SysInfo(p);
        var b = new byte[112];
        // Whole seconds rounded up, as Linux does (so it is never 0).
        long elapsed = System.Diagnostics.Stopwatch.GetTimestamp() - t.Kernel.BootTimestamp;
        long freq = System.Diagnostics.Stopwatch.Frequency;
        long uptime = (elapsed + freq - 1) / freq;
        BinaryPrimitives.WriteInt64LittleEndian(b, uptime);
        host.AsSpan(32, 48).CopyTo(b.AsSpan(32));          // totalram .. totalswap/freeswap
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(80), (ushort)t.Kernel.Tasks().Count);
        host.AsSpan(88, 20).CopyTo(b.AsSpan(88));          // totalhigh, freehigh, mem_unit
        return t.Memory.CopyOut(a.A0, b);
    }

    private static long Prlimit(Task t, int pid, int resource, ulong newAddr, ulong oldAddr)
    {
        if (resource < 0 || resource >= Rlimits.Count) return -Errno.EINVAL;
        ThreadGroup? g = pid == 0 ? t.ThreadGroup : t.Kernel.ThreadGroupByPid(t, pid);
        if (g == null) return -Errno.ESRCH;
        var limits = g.Limits;
        var old = limits.Get(resource);
        if (newAddr != 0)
        {
            var b = new byte[16];
            if (t.Memory.CopyIn(newAddr, b) != 0) return -Errno.EFAULT;
            ulong cur = BinaryPrimitives.ReadUInt64LittleEndian(b), max = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8));
            if (resource == Rlimits.NOFILE && cur > 1024 * 1024) return -Errno.EPERM;
            int err = limits.Set(resource, cur, max, t.Credentials.HasCapability(24));   // CAP_SYS_RESOURCE
            if (err < 0) return err;
            if (resource == Rlimits.NOFILE)
            {
                // The target process's fd tables follow its new limit (not the caller's).
                List<Task> tasks;
                lock (t.Kernel.TaskLock) tasks = g.Tasks.ToList();
                foreach (var task in tasks) task.OnFileLimitChanged((int)Math.Min(cur, int.MaxValue));
            }
        }
        if (oldAddr != 0)
        {
            var b = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(b, old.Cur);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), old.Max);
            if (t.Memory.CopyOut(oldAddr, b) != 0) return -Errno.EFAULT;
        }
        return 0;
    }

    private static long Prctl(Task t, in SyscallArguments a)
    {
        const int PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
            PR_GET_TIMERSLACK = 30, PR_SET_TIMERSLACK = 29,
            PR_GET_KEEPCAPS = 7, PR_SET_KEEPCAPS = 8, PR_SET_NAME = 15, PR_GET_NAME = 16, PR_CAPBSET_READ = 23,
            PR_CAPBSET_DROP = 24, PR_GET_SECUREBITS = 27, PR_SET_SECUREBITS = 28, PR_SET_CHILD_SUBREAPER = 36, PR_GET_CHILD_SUBREAPER = 37,
            PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39, PR_CAP_AMBIENT = 47;
        switch ((int)a.A0)
        {
            case PR_SET_PDEATHSIG:
                if (a.A1 > Signal.Max) return -Errno.EINVAL;
                t.ParentDeathSignal = (int)a.A1;
                return 0;
            case PR_GET_PDEATHSIG:
                return t.Memory.CopyOutStruct(a.A1, t.ParentDeathSignal);
            case PR_GET_DUMPABLE:
                return t.ThreadGroup.Dumpable;
            case PR_SET_DUMPABLE:
                if (a.A1 > 1) return -Errno.EINVAL;
                t.ThreadGroup.Dumpable = (int)a.A1;
                return 0;
            case PR_GET_TIMERSLACK:
                return t.TimerSlackNs;
            case PR_SET_TIMERSLACK:
                t.TimerSlackNs = a.A1 == 0 ? 50_000 : (long)Math.Min(a.A1, long.MaxValue);
                return 0;
            case PR_GET_KEEPCAPS:
                return (t.Credentials.SecureBits & Credentials.SecbitKeepCaps) != 0 ? 1 : 0;
            case PR_SET_KEEPCAPS:
            {
                if (a.A1 > 1) return -Errno.EINVAL;
                var c = t.Credentials;
                if ((c.SecureBits & (Credentials.SecbitKeepCaps << 1)) != 0) return -Errno.EPERM;   // SECBIT_KEEP_CAPS_LOCKED
                t.Credentials = c with { SecureBits = a.A1 == 1 ? c.SecureBits | Credentials.SecbitKeepCaps : c.SecureBits & ~Credentials.SecbitKeepCaps };
                return 0;
            }
            case PR_SET_NAME:
            {
                var b = new byte[16];
                int n = t.Memory.Read(a.A1, b);
                if (n <= 0) return -Errno.EFAULT;
                int nul = Array.IndexOf(b, (byte)0, 0, n);
                t.Name = LinuxText.Decode(b.AsSpan(0, nul < 0 ? Math.Min(n, 15) : nul));
                return 0;
            }
            case PR_GET_NAME:
            {
                var b = new byte[16];
                var name = LinuxText.Encode(t.Name);
                name.AsSpan(0, Math.Min(15, name.Length)).CopyTo(b);
                return t.Memory.CopyOut(a.A1, b);
            }
            case PR_CAPBSET_READ:
                if (a.A1 > Credentials.LastCap) return -Errno.EINVAL;
                return (t.Credentials.BoundingCaps & (1UL << (int)a.A1)) != 0 ? 1 : 0;
            case PR_CAPBSET_DROP:
                if (a.A1 > Credentials.LastCap) return -Errno.EINVAL;
                if (!t.Credentials.HasCapability(8)) return -Errno.EPERM;
                t.Credentials = t.Credentials with { BoundingCaps = t.Credentials.BoundingCaps & ~(1UL << (int)a.A1) };
                return 0;
            case PR_GET_SECUREBITS:
                return t.Credentials.SecureBits;
            case PR_SET_SECUREBITS:
                return SetSecureBits(t, a.A1);
            case PR_SET_CHILD_SUBREAPER:
                t.ThreadGroup.IsSubreaper = a.A1 != 0;
                return 0;
            case PR_GET_CHILD_SUBREAPER:
                return t.Memory.CopyOutStruct(a.A1, t.ThreadGroup.IsSubreaper ? 1 : 0);
            case PR_SET_NO_NEW_PRIVS:
                if (a.A1 != 1 || a.A2 != 0 || a.A3 != 0 || a.A4 != 0) return -Errno.EINVAL;
                t.NoNewPrivileges = true;
                return 0;
            case PR_GET_NO_NEW_PRIVS:
                if (a.A1 != 0 || a.A2 != 0 || a.A3 != 0 || a.A4 != 0) return -Errno.EINVAL;
                return t.NoNewPrivileges ? 1 : 0;
            case PR_CAP_AMBIENT:
                return CapAmbient(t, a);
            case SeccompSyscalls.PR_GET_SECCOMP:
            case SeccompSyscalls.PR_SET_SECCOMP:
                return SeccompSyscalls.Prctl(t, a);
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>
    /// prctl(PR_SET_SECUREBITS) (capabilities(7)): needs CAP_SETPCAP; a locked bit cannot change,
    /// a lock cannot be released; unknown bits EPERM, as Linux's cap_prctl_drop checks.
    /// </summary>
    private static long SetSecureBits(Task t, ulong bits)
    {
        var c = t.Credentials;
        uint current = c.SecureBits;
        uint locked = (current >> 1) & 0x55;   // each _LOCKED bit guards the bit below it
        if (bits > uint.MaxValue || (bits & ~(ulong)Credentials.SecbitsAll) != 0) return -Errno.EPERM;
        uint want = (uint)bits;
        if (((want ^ current) & locked) != 0 || (current & ~want & 0xaa) != 0 || !c.HasCapability(8)) return -Errno.EPERM;
        t.Credentials = c with { SecureBits = want };
        return 0;
    }

    /// <summary>
    /// prctl(PR_CAP_AMBIENT, op, cap, 0, 0): IS_SET answers 1 or 0; RAISE needs the capability in
    /// both the permitted and the inheritable set (EPERM) and no SECBIT_NO_CAP_AMBIENT_RAISE;
    /// LOWER and CLEAR_ALL always work; EINVAL for an unknown op or capability or non-zero
    /// unused arguments.
    /// </summary>
    private static long CapAmbient(Task t, in SyscallArguments a)
    {
        const int IS_SET = 1, RAISE = 2, LOWER = 3, CLEAR_ALL = 4;
        if (a.A3 != 0 || a.A4 != 0) return -Errno.EINVAL;
        var c = t.Credentials;
        if ((int)a.A1 == CLEAR_ALL)
        {
            if (a.A2 != 0) return -Errno.EINVAL;
            t.Credentials = c with { AmbientCaps = 0 };
            return 0;
        }
        if (a.A2 > Credentials.LastCap) return -Errno.EINVAL;
        ulong bit = 1UL << (int)a.A2;
        switch ((int)a.A1)
        {
            case IS_SET:
                return (c.AmbientCaps & bit) != 0 ? 1 : 0;
            case RAISE:
                if ((c.PermittedCaps & bit) == 0 || (c.InheritableCaps & bit) == 0
                    || (c.SecureBits & Credentials.SecbitNoCapAmbientRaise) != 0) return -Errno.EPERM;
                t.Credentials = c with { AmbientCaps = c.AmbientCaps | bit };
                return 0;
            case LOWER:
                t.Credentials = c with { AmbientCaps = c.AmbientCaps & ~bit };
                return 0;
            default:
                return -Errno.EINVAL;
        }
    }

    private static long ArchPrctl(Task t, in SyscallArguments a)
    {
        const int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
        ref var r = ref t.Context!.Regs;
        switch ((int)a.A0)
        {
            case ARCH_SET_FS:
                if (a.A1 >= 0x0000_8000_0000_0000) return -Errno.EPERM;
                r.FsBase = a.A1;
                return 0;
            case ARCH_SET_GS:
                if (a.A1 >= 0x0000_8000_0000_0000) return -Errno.EPERM;
                r.GsBase = a.A1;
                return 0;
            case ARCH_GET_FS:
                return t.Memory.CopyOutStruct(a.A1, r.FsBase);
            case ARCH_GET_GS:
                return t.Memory.CopyOutStruct(a.A1, r.GsBase);
            default:
                return -Errno.EINVAL;
        }
    }

    private static long Futex(Task t, in SyscallArguments a)
    {
        const int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4, FUTEX_WAKE_OP = 5,
            FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256;
        int op = (int)a.A1;
        bool priv = (op & FUTEX_PRIVATE_FLAG) != 0;
        int cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        ulong addr = a.A0;
        uint val = (uint)a.A2;
        var f = t.Kernel.Futexes;
        switch (cmd)
        {
            case FUTEX_WAIT:
            case FUTEX_WAIT_BITSET:
            {
                TimeSpan? timeout = null;
                if (a.A3 != 0)
                {
                    int err = TimeSyscalls.ReadTimespec(t, a.A3, out long sec, out long nsec);
                    if (err < 0) return err;
                    long ns = sec * 1_000_000_000 + nsec;
                    if (cmd == FUTEX_WAIT_BITSET)
                    {
                        // Absolute deadline on CLOCK_MONOTONIC or CLOCK_REALTIME.
                        long now = HostTime.Nanos((op & FUTEX_CLOCK_REALTIME) != 0 ? 0 : 1);
                        ns -= now;
                        if (ns < 0) ns = 0;
                    }
                    timeout = TimeSpan.FromTicks(ns / 100);
                }
                uint bitset = cmd == FUTEX_WAIT_BITSET ? (uint)a.A5 : uint.MaxValue;
                return f.Wait(t, addr, val, bitset, priv, timeout);
            }
            case FUTEX_WAKE:
                return f.Wake(t, addr, (int)Math.Min(val, int.MaxValue), uint.MaxValue, priv);
            case FUTEX_WAKE_BITSET:
                return f.Wake(t, addr, (int)Math.Min(val, int.MaxValue), (uint)a.A5, priv);
            case FUTEX_REQUEUE:
                return f.Requeue(t, addr, a.A4, (int)val, (int)Math.Min(a.A3, int.MaxValue), null, priv);
            case FUTEX_CMP_REQUEUE:
                return f.Requeue(t, addr, a.A4, (int)val, (int)Math.Min(a.A3, int.MaxValue), (uint)a.A5, priv);
            case FUTEX_WAKE_OP:
                return f.WakeOp(t, addr, a.A4, (int)Math.Min(val, int.MaxValue), (int)Math.Min(a.A3, int.MaxValue), (uint)a.A5, priv);
            default:
                return -Errno.ENOSYS;
        }
    }
}
