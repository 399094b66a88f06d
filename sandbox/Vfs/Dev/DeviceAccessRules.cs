using RunscNet.Sentry.Kernel;
using RunscNet.StateFile.Oci;

namespace RunscNet.Sentry.Vfs.Dev;

/// <summary>
/// linux.resources.devices as the Sentry enforces it: the device cgroup's allow/deny list
/// (Documentation/admin-guide/cgroup-v1/devices.rst), checked when a device node is opened
/// (read/write access) and when one is made with mknod(2) ('m'); a refusal is EPERM, as Linux's
/// devcgroup_inode_permission and devcgroup_inode_mknod give. The container's device nodes are
/// all served by the Sentry (the gofer never opens a host device), so this list is what stands
/// between the container and a device.
///
/// Built as runc builds its cgroup: start denying everything, apply the spec's rules in order
/// (a rule for all devices "a *:* rwm" resets the default and drops the exceptions; a rule that
/// agrees with the default removes those accesses from the matching exception; one that
/// disagrees adds an exception), then runc's always-allowed list (mknod of any node; null, zero,
/// full, random, urandom, tty, ptmx, the ptys, tun), plus 5:1 because the Sentry's /dev/console
/// is a node of its own where runc's is a bind of the console pty (136:N, allowed).
/// </summary>
internal sealed class DeviceAccessRules
{
    /// <summary>Access bits of a rule or request.</summary>
    public const int Read = 1, Write = 2, Mknod = 4, All = 7;

    private sealed record Rule(char Type, long? Major, long? Minor, int Access)
    {
        public int Access { get; set; } = Access;
    }

    private bool _defaultAllow;
    private readonly List<Rule> _exceptions = new();

    /// <summary>Everything allowed (no spec: the in-process tests' VFS).</summary>
    public static DeviceAccessRules AllowAll { get; } = new() { _defaultAllow = true };

    private static readonly (char Type, long? Major, long? Minor, string Access)[] s_alwaysAllowed =
    [
        ('c', null, null, "m"), ('b', null, null, "m"),
        ('c', 1, 3, "rwm"), ('c', 1, 8, "rwm"), ('c', 1, 7, "rwm"), ('c', 5, 0, "rwm"), ('c', 1, 5, "rwm"),
        ('c', 1, 9, "rwm"), ('c', 136, null, "rwm"), ('c', 5, 2, "rwm"), ('c', 10, 200, "rwm"), ('c', 5, 1, "rwm"),
    ];

    /// <summary>The rules of <paramref name="spec"/>'s linux.resources.devices, runc's way (see the class summary).</summary>
    public static DeviceAccessRules FromSpec(IEnumerable<DeviceCgroup>? spec)
    {
        var rules = new DeviceAccessRules();
        foreach (var r in spec ?? [])
            rules.Apply(r.Allow, TypeOf(r.Type), r.Major is < 0 ? null : r.Major, r.Minor is < 0 ? null : r.Minor, AccessOf(r.Access));
        foreach (var (type, major, minor, access) in s_alwaysAllowed) rules.Apply(true, type, major, minor, AccessOf(access));
        return rules;
    }

    /// <summary>The rule type letter: "a" (or none) for all, 'c', 'b'.</summary>
    public static char TypeOf(string? type) => string.IsNullOrEmpty(type) ? 'a' : type[0];

    /// <summary>Access bits of "rwm" letters (none given: all).</summary>
    public static int AccessOf(string? access)
    {
        if (string.IsNullOrEmpty(access)) return All;
        int bits = 0;
        foreach (char c in access) bits |= c switch { 'r' => Read, 'w' => Write, 'm' => Mknod, _ => 0 };
        return bits;
    }

    private void Apply(bool allow, char type, long? major, long? minor, int access)
    {
        lock (_exceptions)
        {
            if (type == 'a' && major == null && minor == null && access == All)
            {
                _defaultAllow = allow;
                _exceptions.Clear();
                return;
            }
            if (allow == _defaultAllow)
            {
                foreach (var e in _exceptions.Where(e => e.Type == type && e.Major == major && e.Minor == minor))
                    e.Access &= ~access;
                _exceptions.RemoveAll(e => e.Access == 0);
                return;
            }
            var same = _exceptions.FirstOrDefault(e => e.Type == type && e.Major == major && e.Minor == minor);
            if (same != null) same.Access |= access;
            else _exceptions.Add(new Rule(type, major, minor, access));
        }
    }

    /// <summary>
    /// True if every access in <paramref name="access"/> to the device of type
    /// <paramref name="type"/> ('c' or 'b') and number <paramref name="rdev"/> is allowed.
    /// </summary>
    public bool Allows(char type, ulong rdev, int access)
    {
        long major = DeviceRegistry.Major(rdev), minor = DeviceRegistry.Minor(rdev);
        lock (_exceptions)
        {
            for (int bit = 1; bit <= Mknod; bit <<= 1)
            {
                if ((access & bit) == 0) continue;
                bool excepted = _exceptions.Any(e => (e.Access & bit) != 0
                    && (e.Type == 'a' || e.Type == type)
                    && (e.Major == null || e.Major == major)
                    && (e.Minor == null || e.Minor == minor));
                if (excepted == _defaultAllow) return false;
            }
            return true;
        }
    }

    /// <summary>0, or -EPERM when the device cgroup list refuses <paramref name="access"/> to the node of mode <paramref name="mode"/>.</summary>
    public int Check(uint mode, ulong rdev, int access)
    {
        uint type = mode & LinuxMode.S_IFMT;
        if (type != LinuxMode.S_IFCHR && type != LinuxMode.S_IFBLK) return 0;
        return Allows(type == LinuxMode.S_IFCHR ? 'c' : 'b', rdev, access) ? 0 : -Errno.EPERM;
    }
}
