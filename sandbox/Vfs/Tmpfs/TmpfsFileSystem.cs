namespace RunscNet.Sentry.Vfs.Tmpfs;

/// <summary>
/// A memory file system (tmpfs): the tree lives in the Sentry; regular files are backed by host
/// memfds so they can be mapped like gofer files. Used for spec `tmpfs` mounts, /dev/shm, /dev,
/// the memory overlay's upper layer, and memfd_create.
/// </summary>
internal sealed class TmpfsFileSystem : FileSystem
{
    private readonly TmpfsInode _root;

    /// <summary>Creates an empty tmpfs whose root has <paramref name="rootMode"/> (default 1777).</summary>
    public TmpfsFileSystem(uint rootMode = LinuxMode.S_IFDIR | 0x3ff, uint uid = 0, uint gid = 0, string typeName = "tmpfs")
    {
        TypeName = typeName;
        Space = new TmpfsSpace { LimitPages = typeName == "tmpfs" ? DefaultSize() / 4096 : 0 };
        Space.ReserveInode();   // the root's
        _root = new TmpfsInode(this, rootMode, uid, gid);
        if (typeName == "cgroup") _ = HostCgroupMagic.Value;   // look now: the boot process leaves the host's tree later
    }

    /// <inheritdoc/>
    public override string TypeName { get; }

    /// <summary>statfs f_type of the kind of file system this tmpfs stands in for (statfs(2)'s magic numbers).</summary>
    public override long Magic => TypeName switch
    {
        "sysfs" => 0x62656572,
        "mqueue" => 0x19800202,
        "cgroup" => HostCgroupMagic.Value,
        "cgroup2" => 0x63677270,
        _ => 0x01021994,
    };

    /// <summary>
    /// The size limit in bytes: the mount's size= option, else half of the host's memory (tmpfs's
    /// default, as under runc: the container's memory limit is what bounds it further, since
    /// every tmpfs page is charged to the container's memory cgroup). Enforced by <see cref="Space"/>.
    /// </summary>
    public long SizeLimit
    {
        get => _sizeLimit;
        set
        {
            _sizeLimit = value;
            _sizeGiven = true;
            Space.LimitPages = value / 4096;
        }
    }

    private long _sizeLimit = DefaultSize();

    /// <summary>The nr_inodes= limit (default: half of the host's memory pages, Linux's).</summary>
    public long InodeLimit
    {
        get => _inodeLimit;
        set
        {
            _inodeLimit = value;
            _inodesGiven = true;
            Space.InodeLimit = value;
        }
    }

    private long _inodeLimit = DefaultSize() / 4096;
    private bool _inodesGiven;

    /// <summary>The accounting of data pages and inodes against the limits.</summary>
    public TmpfsSpace Space { get; }

    /// <summary>No size or inode limit: memfd_create's internal mount and the memory overlay's upper layer, as on Linux.</summary>
    public void RemoveLimits()
    {
        Space.LimitPages = 0;
        Space.InodeLimit = 0;
    }

    /// <summary>The mount's mode= option, if it had one (what /proc/mounts shows, whatever the root's mode became).</summary>
    public uint? ModeOption { get; set; }
    private bool _sizeGiven;

    /// <summary>As Linux's shmem_show_options: size= when one was given, mode= when the root's is not 1777.</summary>
    public override string ShowOptions
    {
        get
        {
            if (Magic != 0x01021994) return "";
            var o = new List<string>();
            if (_sizeGiven) o.Add($"size={_sizeLimit / 1024}k");
            if (_inodesGiven) o.Add($"nr_inodes={_inodeLimit}");
            if (ModeOption is uint mode && mode != 0x3ff) o.Add("mode=" + Convert.ToString(mode, 8).PadLeft(3, '0'));
            return string.Join(',', o);
        }
    }

    // A spec's "cgroup" mount is what runc makes of it on this host: cgroup2 on a cgroup v2 host,
    // else a tmpfs holding the v1 hierarchies.
    private static readonly Lazy<long> HostCgroupMagic = new(() =>
        Interop.HostLimits.FileSystemMagic("/sys/fs/cgroup") == 0x63677270 ? 0x63677270 : 0x01021994);

    private static readonly Lazy<long> s_defaultSize = new(() =>
    {
        long total = Interop.HostLimits.TotalRam();
        return total > 0 ? total / 2 / 4096 * 4096 : 4L << 30;
    });

    private static long DefaultSize() => s_defaultSize.Value;

    /// <inheritdoc/>
    public override StatFsInfo DefaultStatFs()
    {
        var s = base.DefaultStatFs();
        // Only a real tmpfs has a size; sysfs, mqueue and cgroup report no blocks.
        if (Magic != 0x01021994)
        {
            s.Blocks = s.BlocksFree = s.BlocksAvailable = 0;
            return s;
        }
        s.Blocks = SizeLimit / 4096;
        s.BlocksFree = s.BlocksAvailable = Math.Max(0, s.Blocks - Space.UsedPages());
        s.Files = InodeLimit;
        s.FilesFree = Math.Max(0, InodeLimit - Space.InodesUsed);
        return s;
    }

    /// <summary>
    /// Parses tmpfs's size= option (bytes with an optional k, m, g suffix, or a percentage of the
    /// host's memory) into bytes rounded up to pages; null if it is not one.
    /// </summary>
    public static long? ParseInodes(string value)
    {
        if (value.Length == 0 || value.EndsWith('%')) return null;
        long? n = ParseSize(value, pages: false);
        return n;
    }

    /// <summary>As <see cref="ParseSize(string)"/>; with <paramref name="pages"/> false the number is not rounded to pages.</summary>
    public static long? ParseSize(string value, bool pages)
    {
        if (value.Length == 0) return null;
        char last = char.ToLowerInvariant(value[^1]);
        long unit = last switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
        string digits = unit != 1 ? value[..^1] : value;
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)) return null;
        return pages ? (n * unit + 4095) / 4096 * 4096 : n * unit;
    }

    /// <summary>Parses tmpfs's size= option (see above).</summary>
    public static long? ParseSize(string value)
    {
        if (value.Length == 0) return null;
        char last = char.ToLowerInvariant(value[^1]);
        bool percent = last == '%';
        long unit = last switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, _ => 1 };
        string digits = unit != 1 || percent ? value[..^1] : value;
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)) return null;
        long bytes = percent ? DefaultSize() * 2 / 100 * n : n * unit;
        return (bytes + 4095) / 4096 * 4096;
    }

    /// <inheritdoc/>
    public override Inode Root => _root;

    /// <summary>The root as a tmpfs inode (to populate it at boot).</summary>
    public TmpfsInode RootInode => _root;
}
