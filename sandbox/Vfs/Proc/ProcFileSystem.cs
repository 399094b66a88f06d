using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Proc;

/// <summary>
/// /proc (proc(5)): system files (meminfo, cpuinfo, uptime, loadavg, filesystems, mounts,
/// sys/kernel/*), "self"/"thread-self", and a directory per process (stat, status, cmdline,
/// comm, exe, cwd, root, fd/, mounts...). Everything is generated on access; nothing is cached.
/// </summary>
internal sealed partial class ProcFileSystem : FileSystem
{
    private readonly ProcDirectory _root;

    /// <summary>Creates /proc over the sandbox's <paramref name="vfs"/>.</summary>
    public ProcFileSystem(VirtualFileSystem vfs)
    {
        Vfs = vfs;
        var fixedEntries = SystemEntries();
        _root = new ProcDirectory(this,
            () => fixedEntries.Keys.Concat(new[] { "self", "thread-self" }).Concat(Processes().Select(p => p.Pid.ToString())),
            name =>
            {
                if (fixedEntries.TryGetValue(name, out var make)) return make();
                if (name == "self") return new ProcSymlink(this, t => Describe(t).Pid.ToString());
                if (name == "thread-self") return new ProcSymlink(this, t => $"{Describe(t).Pid}/task/{t.Tid}");
                if (int.TryParse(name, out int pid) && pid > 0 && name == pid.ToString())
                {
                    var p = FindProcess(pid);
                    return p != null ? ProcessDirectory(p) : null;
                }
                return null;
            }, mode: 0x16d, ino: 1);
    }

    /// <summary>The VFS whose mounts and paths /proc reports.</summary>
    public VirtualFileSystem Vfs { get; }

    /// <inheritdoc/>
    public override string TypeName => "proc";

    /// <inheritdoc/>
    public override long Magic => 0x9fa0;

    /// <inheritdoc/>
    public override Inode Root => _root;

    /// <summary>Attributes of a /proc node (times are the boot time of the file system).</summary>
    internal static InodeAttr AttrOf(Inode inode, uint mode, uint uid, uint gid, long size)
    {
        var fs = inode.FileSystem;
        long t = fs is ProcFileSystem p ? p._created : FileSystem.NowNs();
        return new InodeAttr
        {
            Mode = mode, Uid = uid, Gid = gid, Nlink = LinuxMode.IsDir(mode) ? 2UL : 1UL, Ino = inode.Ino, Dev = fs.DeviceId,
            Size = size, BlockSize = 1024, AtimeNs = t, MtimeNs = t, CtimeNs = t,
        };
    }

    private readonly long _created = NowNs();

    /// <inheritdoc/>
    public override StatFsInfo DefaultStatFs() => new() { Type = Magic, BlockSize = 4096, NameLength = 255, FragmentSize = 4096 };
}
