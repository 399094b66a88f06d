using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Memory;

namespace RunscNet.Sentry.Syscalls;

/// <summary>Credentials: user and group IDs, supplementary groups, capabilities (credentials(7)).</summary>
internal static partial class IdentitySyscalls
{
    private const int CAP_SETGID = 6, CAP_SETUID = 7, CAP_SETPCAP = 8;
    private const uint NoChange = uint.MaxValue;

    /// <summary>Adds this subsystem's rows to the table.</summary>
    public static void Register(SyscallTable t)
    {
        t.Supported(102, "getuid", (Task task, in SyscallArguments a) => task.Credentials.Uid);
        t.Supported(104, "getgid", (Task task, in SyscallArguments a) => task.Credentials.Gid);
        t.Supported(107, "geteuid", (Task task, in SyscallArguments a) => task.Credentials.Euid);
        t.Supported(108, "getegid", (Task task, in SyscallArguments a) => task.Credentials.Egid);
        t.Supported(105, "setuid", (Task task, in SyscallArguments a) => SetUid(task, (uint)a.A0));
        t.Supported(106, "setgid", (Task task, in SyscallArguments a) => SetGid(task, (uint)a.A0));
        t.Supported(113, "setreuid", (Task task, in SyscallArguments a) => SetReUid(task, (uint)a.A0, (uint)a.A1));
        t.Supported(114, "setregid", (Task task, in SyscallArguments a) => SetReGid(task, (uint)a.A0, (uint)a.A1));
        t.Supported(117, "setresuid", (Task task, in SyscallArguments a) => SetResUid(task, (uint)a.A0, (uint)a.A1, (uint)a.A2));
        t.Supported(119, "setresgid", (Task task, in SyscallArguments a) => SetResGid(task, (uint)a.A0, (uint)a.A1, (uint)a.A2));
        t.Supported(118, "getresuid", (Task task, in SyscallArguments a) => GetRes(task, a, task.Credentials.Uid, task.Credentials.Euid, task.Credentials.Suid));
        t.Supported(120, "getresgid", (Task task, in SyscallArguments a) => GetRes(task, a, task.Credentials.Gid, task.Credentials.Egid, task.Credentials.Sgid));
        t.Supported(122, "setfsuid", SetFsUid);
        t.Supported(123, "setfsgid", SetFsGid);
        t.Supported(115, "getgroups", GetGroups);
        t.Supported(116, "setgroups", SetGroups);
        t.Partial(125, "capget", Capget, "Capability sets of the caller or any sandbox task; no ambient set.");
        t.Partial(126, "capset", Capset, "The caller only; sets can only shrink (no file capabilities).");
    }

    private static long GetRes(Task t, in SyscallArguments a, uint r, uint e, uint s)
    {
        if (t.Memory.CopyOutStruct(a.A0, r) != 0 || t.Memory.CopyOutStruct(a.A1, e) != 0 || t.Memory.CopyOutStruct(a.A2, s) != 0)
            return -Errno.EFAULT;
        return 0;
    }

    /// <summary>Linux's capability fix-ups after a UID change (see <see cref="Credentials.AfterUidChange"/>).</summary>
    private static Credentials FixCaps(Credentials old, Credentials n) => n.AfterUidChange(old);

    private static long SetUid(Task t, uint uid)
    {
        if (uid == NoChange) return -Errno.EINVAL;
        var c = t.Credentials;
        Credentials n;
        if (c.HasCapability(CAP_SETUID)) n = c with { Uid = uid, Euid = uid, Suid = uid, Fsuid = uid };
        else if (uid == c.Uid || uid == c.Suid) n = c with { Euid = uid, Fsuid = uid };
        else return -Errno.EPERM;
        t.Credentials = FixCaps(c, n);
        return 0;
    }

    private static long SetGid(Task t, uint gid)
    {
        if (gid == NoChange) return -Errno.EINVAL;
        var c = t.Credentials;
        if (c.HasCapability(CAP_SETGID)) t.Credentials = c with { Gid = gid, Egid = gid, Sgid = gid, Fsgid = gid };
        else if (gid == c.Gid || gid == c.Sgid) t.Credentials = c with { Egid = gid, Fsgid = gid };
        else return -Errno.EPERM;
        return 0;
    }

    private static long SetReUid(Task t, uint r, uint e)
    {
        var c = t.Credentials;
        bool cap = c.HasCapability(CAP_SETUID);
        if (r != NoChange && !cap && r != c.Uid && r != c.Euid) return -Errno.EPERM;
        if (e != NoChange && !cap && e != c.Uid && e != c.Euid && e != c.Suid) return -Errno.EPERM;
        uint nr = r == NoChange ? c.Uid : r, ne = e == NoChange ? c.Euid : e;
        uint ns = (r != NoChange || (e != NoChange && e != c.Uid)) ? ne : c.Suid;
        t.Credentials = FixCaps(c, c with { Uid = nr, Euid = ne, Suid = ns, Fsuid = ne });
        return 0;
    }

    private static long SetReGid(Task t, uint r, uint e)
    {
        var c = t.Credentials;
        bool cap = c.HasCapability(CAP_SETGID);
        if (r != NoChange && !cap && r != c.Gid && r != c.Egid) return -Errno.EPERM;
        if (e != NoChange && !cap && e != c.Gid && e != c.Egid && e != c.Sgid) return -Errno.EPERM;
        uint nr = r == NoChange ? c.Gid : r, ne = e == NoChange ? c.Egid : e;
        uint ns = (r != NoChange || (e != NoChange && e != c.Gid)) ? ne : c.Sgid;
        t.Credentials = c with { Gid = nr, Egid = ne, Sgid = ns, Fsgid = ne };
        return 0;
    }

    private static bool Allowed(uint v, uint a, uint b, uint c) => v == NoChange || v == a || v == b || v == c;

    private static long SetResUid(Task t, uint r, uint e, uint s)
    {
        var c = t.Credentials;
        if (!c.HasCapability(CAP_SETUID) &&
            (!Allowed(r, c.Uid, c.Euid, c.Suid) || !Allowed(e, c.Uid, c.Euid, c.Suid) || !Allowed(s, c.Uid, c.Euid, c.Suid)))
            return -Errno.EPERM;
        var n = c with
        {
            Uid = r == NoChange ? c.Uid : r,
            Euid = e == NoChange ? c.Euid : e,
            Suid = s == NoChange ? c.Suid : s,
        };
        t.Credentials = FixCaps(c, n with { Fsuid = n.Euid });
        return 0;
    }

    private static long SetResGid(Task t, uint r, uint e, uint s)
    {
        var c = t.Credentials;
        if (!c.HasCapability(CAP_SETGID) &&
            (!Allowed(r, c.Gid, c.Egid, c.Sgid) || !Allowed(e, c.Gid, c.Egid, c.Sgid) || !Allowed(s, c.Gid, c.Egid, c.Sgid)))
            return -Errno.EPERM;
        var n = c with
        {
            Gid = r == NoChange ? c.Gid : r,
            Egid = e == NoChange ? c.Egid : e,
            Sgid = s == NoChange ? c.Sgid : s,
        };
        t.Credentials = n with { Fsgid = n.Egid };
        return 0;
    }

    private static long SetFsUid(Task t, in SyscallArguments a)
    {
        var c = t.Credentials;
        uint old = c.Fsuid, v = (uint)a.A0;
        if (c.HasCapability(CAP_SETUID) || v == c.Uid || v == c.Euid || v == c.Suid || v == c.Fsuid)
            if (v != NoChange) t.Credentials = c with { Fsuid = v };
        return old;
    }

    private static long SetFsGid(Task t, in SyscallArguments a)
    {
        var c = t.Credentials;
        uint old = c.Fsgid, v = (uint)a.A0;
        if (c.HasCapability(CAP_SETGID) || v == c.Gid || v == c.Egid || v == c.Sgid || v == c.Fsgid)
            if (v != NoChange) t.Credentials = c with { Fsgid = v };
        return old;
    }

    private static long GetGroups(Task t, in SyscallArguments a)
    {
        int size = (int)a.A0;
        var g = t.Credentials.Groups;
        if (size < 0) return -Errno.EINVAL;
        if (size == 0) return g.Length;
        if (size < g.Length) return -Errno.EINVAL;
        var b = new byte[g.Length * 4];
        Buffer.BlockCopy(g, 0, b, 0, b.Length);
        if (t.Memory.CopyOut(a.A1, b) != 0) return -Errno.EFAULT;
        return g.Length;
    }

    private static long SetGroups(Task t, in SyscallArguments a)
    {
        int size = (int)a.A0;
        if (size < 0 || size > 65536) return -Errno.EINVAL;
        if (!t.Credentials.HasCapability(CAP_SETGID)) return -Errno.EPERM;
        var b = new byte[size * 4];
        if (t.Memory.CopyIn(a.A1, b) != 0) return -Errno.EFAULT;
        var g = new uint[size];
        Buffer.BlockCopy(b, 0, g, 0, b.Length);
        Array.Sort(g);
        t.Credentials = t.Credentials with { Groups = g };
        return 0;
    }

    private const uint CapVersion1 = 0x19980330, CapVersion2 = 0x20071026, CapVersion3 = 0x20080522;

    private static long Capget(Task t, in SyscallArguments a)
    {
        if (t.Memory.CopyInStruct(a.A0, out uint version) != 0) return -Errno.EFAULT;
        if (t.Memory.CopyInStruct(a.A0 + 4, out int pid) != 0) return -Errno.EFAULT;
        if (version != CapVersion1 && version != CapVersion2 && version != CapVersion3)
        {
            if (t.Memory.CopyOutStruct(a.A0, CapVersion3) != 0) return -Errno.EFAULT;
            return a.A1 == 0 ? 0 : -Errno.EINVAL;
        }
        if (pid < 0) return -Errno.EINVAL;
        var target = pid == 0 ? t : t.Kernel.TaskByTid(t, pid);
        if (target == null) return -Errno.ESRCH;
        if (a.A1 == 0) return 0;
        var c = target.Credentials;
        int words = version == CapVersion1 ? 1 : 2;
        var b = new byte[12 * words];
        for (int i = 0; i < words; i++)
        {
            BitConverter.TryWriteBytes(b.AsSpan(i * 12), (uint)(c.EffectiveCaps >> (32 * i)));
            BitConverter.TryWriteBytes(b.AsSpan(i * 12 + 4), (uint)(c.PermittedCaps >> (32 * i)));
            BitConverter.TryWriteBytes(b.AsSpan(i * 12 + 8), (uint)(c.InheritableCaps >> (32 * i)));
        }
        return t.Memory.CopyOut(a.A1, b);
    }

    private static long Capset(Task t, in SyscallArguments a)
    {
        if (t.Memory.CopyInStruct(a.A0, out uint version) != 0) return -Errno.EFAULT;
        if (t.Memory.CopyInStruct(a.A0 + 4, out int pid) != 0) return -Errno.EFAULT;
        if (version != CapVersion1 && version != CapVersion2 && version != CapVersion3)
        {
            t.Memory.CopyOutStruct(a.A0, CapVersion3);
            return -Errno.EINVAL;
        }
        if (pid != 0 && pid != t.Tid) return -Errno.EPERM;
        int words = version == CapVersion1 ? 1 : 2;
        var b = new byte[12 * words];
        if (t.Memory.CopyIn(a.A1, b) != 0) return -Errno.EFAULT;
        ulong eff = 0, perm = 0, inh = 0;
        for (int i = 0; i < words; i++)
        {
            eff |= (ulong)BitConverter.ToUInt32(b, i * 12) << (32 * i);
            perm |= (ulong)BitConverter.ToUInt32(b, i * 12 + 4) << (32 * i);
            inh |= (ulong)BitConverter.ToUInt32(b, i * 12 + 8) << (32 * i);
        }
        var c = t.Credentials;
        if ((perm & ~c.PermittedCaps) != 0) return -Errno.EPERM;
        if ((eff & ~perm) != 0) return -Errno.EPERM;
        if ((inh & ~(c.InheritableCaps | c.PermittedCaps)) != 0 && !c.HasCapability(CAP_SETPCAP)) return -Errno.EPERM;
        if ((inh & ~(c.InheritableCaps | c.BoundingCaps)) != 0) return -Errno.EPERM;
        t.Credentials = (c with { EffectiveCaps = eff, PermittedCaps = perm, InheritableCaps = inh }).WithAmbientInvariant();
        return 0;
    }
}
