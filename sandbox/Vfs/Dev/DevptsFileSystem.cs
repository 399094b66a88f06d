using RunscNet.Sentry.Interop;
using RunscNet.Sentry.Kernel;
using RunscNet.Sentry.Vfs.Host;
using RunscNet.Sentry.Vfs.Proc;

namespace RunscNet.Sentry.Vfs.Dev;

/// <summary>
/// /dev/pts as a container sees it (devpts(4)): one node per terminal the sandbox was given (the
/// container's console, an exec's --tty terminal), numbered from 0 in the order they arrive, as a
/// fresh devpts instance inside the container would number them. The terminals themselves are
/// host ptys made by the runtime, or by the container's own opens of ptmx (<see cref="PtmxInode"/>);
/// each node re-opens its host pty. One instance per sandbox, so a
/// terminal has a single identity (st_dev, st_ino, st_rdev) wherever it is seen: fstat of the
/// container's stdio and stat of /dev/pts/N agree, which is what ttyname(3) and tty(1) check.
/// </summary>
internal sealed class DevptsFileSystem : FileSystem
{
    /// <summary>Unix98 pty slave major number (devices.txt).</summary>
    public const uint PtySlaveMajor = 136;

    private readonly SortedDictionary<int, TerminalInode> _terminals = new();
    private readonly Inode _root;

    /// <summary>The sandbox's devpts.</summary>
    public static DevptsFileSystem Instance { get; } = new();

    private readonly PtmxInode _ptmx;

    private DevptsFileSystem()
    {
        _root = new ProcDirectory(this, ListNames, LookupName, mode: 0x1ed);
        _ptmx = new PtmxInode(this);
    }

    /// <inheritdoc/>
    public override string TypeName => "devpts";

    /// <inheritdoc/>
    public override long Magic => 0x1cd1;

    private string _shownOptions = "";

    /// <inheritdoc/>
    public override string ShowOptions => _shownOptions;

    /// <summary>
    /// Takes gid=, mode= and ptmxmode= from the spec's devpts mount options for /proc/mounts, as
    /// devpts_show_options prints them (mode unless 600, octal without a leading 0).
    /// </summary>
    public void SetShownOptions(IEnumerable<string>? options)
    {
        var o = new SortedDictionary<int, string>();   // shown in devpts's order: gid, mode, ptmxmode
        foreach (string opt in options ?? Array.Empty<string>())
        {
            int eq = opt.IndexOf('=');
            if (eq < 0) continue;
            string key = opt[..eq], value = opt[(eq + 1)..];
            if (key == "gid" && uint.TryParse(value, out uint gid)) o[0] = $"gid={gid}";
            else if (key is "mode" or "ptmxmode")
            {
                try
                {
                    uint mode = Convert.ToUInt32(value, 8);
                    if (key == "mode" && mode == 0x180) continue;
                    o[key == "mode" ? 1 : 2] = $"{key}={Convert.ToString(mode, 8).PadLeft(3, '0')}";
                }
                catch (FormatException) { }
                catch (OverflowException) { }
            }
        }
        _shownOptions = string.Join(',', o.Values);
    }

    /// <inheritdoc/>
    public override Inode Root => _root;

    /// <summary>
    /// Registers host terminal <paramref name="hostFd"/> (the caller keeps its fd; a dup is kept
    /// for re-opens) under the lowest free number N (/dev/pts/N) and returns N. A terminal
    /// registered before keeps its number. A <paramref name="persistent"/> terminal (the console)
    /// stays for the sandbox's life; others go, and their host pty is closed here, when the last
    /// description of them is released, so the caller's side sees the hang-up as with runc.
    /// Returns -1 if the fd is not a character device.
    /// </summary>
    public unsafe int Register(int hostFd, bool persistent = false)
    {
        LinuxStat st;
        if (HostFiles.fstat(hostFd, &st) != 0 || !LinuxMode.IsChr(st.Mode)) return -1;
        lock (_terminals)
        {
            foreach (var t in _terminals.Values)
                if (t.HostRdev == st.Rdev) return t.Number;
            int fd = Interop.Fcntl.Dup(hostFd);
            if (fd < 0) return -1;
            int number = 0;
            while (_terminals.ContainsKey(number)) number++;
            var node = new TerminalInode(this, number, fd, st.Rdev, persistent);
            _terminals.Add(number, node);
            return number;
        }
    }

    /// <summary>
    /// Registers the slave of a pty pair the container made through ptmx: host device
    /// <paramref name="hostRdev"/>, opened on demand with <paramref name="openPeer"/> (the master's
    /// TIOCGPTPEER, so no slave fd is held and the master sees the hang-up when the container's
    /// last slave fd closes). Returns the node.
    /// </summary>
    public TerminalInode RegisterPair(ulong hostRdev, Func<int, int> openPeer, uint uid, uint gid)
    {
        lock (_terminals)
        {
            int number = 0;
            while (_terminals.ContainsKey(number)) number++;
            var node = new TerminalInode(this, number, hostRdev, openPeer, uid, gid);
            _terminals.Add(number, node);
            return node;
        }
    }

    /// <summary>The node of the terminal whose host device is <paramref name="hostRdev"/>, or null.</summary>
    public TerminalInode? ByHostDevice(ulong hostRdev)
    {
        lock (_terminals)
        {
            foreach (var t in _terminals.Values)
                if (t.HostRdev == hostRdev) return t;
        }
        return null;
    }

    /// <summary>The node of /dev/pts/<paramref name="number"/>, or null.</summary>
    public TerminalInode? ByNumber(int number)
    {
        lock (_terminals) return _terminals.GetValueOrDefault(number);
    }

    /// <summary>True if the sandbox has a console (terminal 0 registered at boot).</summary>
    public bool HasConsole => ByNumber(0) is { Persistent: true };

    /// <summary>Drops <paramref name="node"/> when nothing holds it any more.</summary>
    internal void Forget(TerminalInode node)
    {
        lock (_terminals)
        {
            if (node.Persistent || node.References > 0) return;
            if (_terminals.GetValueOrDefault(node.Number) == node) _terminals.Remove(node.Number);
        }
        node.CloseHostFd();
    }

    private IEnumerable<string> ListNames()
    {
        lock (_terminals) return _terminals.Values.Select(t => t.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)).Prepend("ptmx").ToList();
    }

    private Inode? LookupName(string name)
        => name == "ptmx" ? _ptmx : int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
            && n.ToString(System.Globalization.CultureInfo.InvariantCulture) == name ? ByNumber(n) : null;
}

/// <summary>
/// /dev/pts/N: a host pty slave shown with the container's own numbering. Attributes are the
/// host pty's (mode, owner, times) with the sandbox's identity; opening it opens the host pty.
/// </summary>
internal sealed class TerminalInode : Inode
{
    private int _hostFd;
    private int _references;

    internal TerminalInode(DevptsFileSystem fs, int number, int hostFd, ulong hostRdev, bool persistent) : base(fs)
    {
        Number = number;
        _hostFd = hostFd;
        HostRdev = hostRdev;
        Persistent = persistent;
    }

    // A pair made through ptmx: no host fd is held; the slave is opened through its master.
    private readonly Func<int, int>? _openPeer;
    private uint _pairMode = LinuxMode.S_IFCHR | 0x190, _pairUid, _pairGid;
    private readonly long _pairTimeNs = FileSystem.NowNs();

    internal TerminalInode(DevptsFileSystem fs, int number, ulong hostRdev, Func<int, int> openPeer, uint uid, uint gid) : base(fs)
    {
        Number = number;
        _hostFd = -1;
        HostRdev = hostRdev;
        _openPeer = openPeer;
        // devpts(4) with the options runc gives it: the opener owns the slave, group tty (5), mode 0620.
        _pairUid = uid;
        _pairGid = gid;
    }

    /// <summary>True for a pair made through ptmx, whose master the Sentry serves (false for the console).</summary>
    public bool IsPair => _openPeer != null;

    /// <summary>True for the console, which stays for the sandbox's life.</summary>
    public bool Persistent { get; }

    /// <summary>Open descriptions of this terminal.</summary>
    public int References => Volatile.Read(ref _references);

    /// <summary>Counts one more open description of this terminal.</summary>
    public void Acquire() => Interlocked.Increment(ref _references);

    /// <summary>Counts one description fewer; the last one of a non-console terminal removes it.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) ((DevptsFileSystem)FileSystem).Forget(this);
    }

    internal void CloseHostFd()
    {
        int fd = Interlocked.Exchange(ref _hostFd, -1);
        if (fd >= 0) FileDescriptor.Close(fd);
    }

    /// <summary>N of /dev/pts/N.</summary>
    public int Number { get; }

    /// <summary>The host pty's device number.</summary>
    public ulong HostRdev { get; }

    /// <summary>The device number the container sees (136, N).</summary>
    public ulong Rdev => DeviceRegistry.MakeDev(DevptsFileSystem.PtySlaveMajor, (uint)Number);

    /// <inheritdoc/>
    public override unsafe InodeAttr Attr
    {
        get
        {
            LinuxStat st;
            var attr = new InodeAttr { Mode = LinuxMode.S_IFCHR | 0x190, Nlink = 1, BlockSize = 1024 };
            if (_openPeer != null)
            {
                attr.Mode = _pairMode;
                attr.Uid = _pairUid;
                attr.Gid = _pairGid;
                attr.AtimeNs = attr.MtimeNs = attr.CtimeNs = _pairTimeNs;
            }
            else if (HostFiles.fstat(_hostFd, &st) == 0)
            {
                attr.Mode = st.Mode;
                attr.Uid = st.Uid;
                attr.Gid = st.Gid;
                attr.AtimeNs = st.AtimeSec * 1_000_000_000 + st.AtimeNsec;
                attr.MtimeNs = st.MtimeSec * 1_000_000_000 + st.MtimeNsec;
                attr.CtimeNs = st.CtimeSec * 1_000_000_000 + st.CtimeNsec;
            }
            Identify(ref attr);
            return attr;
        }
    }

    /// <summary>Replaces the host identity in <paramref name="attr"/> by this node's (st_dev, st_ino, st_rdev).</summary>
    public void Identify(ref InodeAttr attr)
    {
        attr.Dev = FileSystem.DeviceId;
        attr.Ino = Ino;
        attr.Rdev = Rdev;
        attr.Nlink = 1;
    }

    /// <inheritdoc/>
    public override int SetAttr(in SetAttrRequest request)
    {
        if (_openPeer != null)
        {
            // A ptmx pair: the container's view only (the host pty stays the Sentry's).
            if ((request.Mask & SetAttrMask.Mode) != 0) _pairMode = LinuxMode.S_IFCHR | (request.Mode & LinuxMode.PermMask);
            if ((request.Mask & SetAttrMask.Uid) != 0) _pairUid = request.Uid;
            if ((request.Mask & SetAttrMask.Gid) != 0) _pairGid = request.Gid;
            return 0;
        }
        // chmod/chown of the pty (as login and script do) go to the host pty.
        if ((request.Mask & SetAttrMask.Mode) != 0 && HostFiles.fchmod(_hostFd, request.Mode & LinuxMode.PermMask) != 0) return HostFiles.Neg();
        if ((request.Mask & (SetAttrMask.Uid | SetAttrMask.Gid)) != 0)
        {
            uint uid = (request.Mask & SetAttrMask.Uid) != 0 ? request.Uid : uint.MaxValue;
            uint gid = (request.Mask & SetAttrMask.Gid) != 0 ? request.Gid : uint.MaxValue;
            if (HostFiles.fchown(_hostFd, uid, gid) != 0) return HostFiles.Neg();
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int Open(Task task, int flags, out FileDescription? file)
    {
        file = Reopen(flags);
        return file != null ? 0 : -Errno.EIO;
    }

    /// <summary>open(2) without O_NOCTTY of this terminal made <paramref name="file"/>: a pty pair's slave may become the caller's controlling terminal.</summary>
    internal void OpenedWithoutNoctty(Task task, FileDescription file)
    {
        if (_openPeer != null && file is HostFileDescription f) f.AcquireOnOpen(task);
    }

    /// <summary>A new description of this terminal with <paramref name="flags"/>' status flags, or null.</summary>
    public HostFileDescription? Reopen(int flags)
    {
        int fd = _openPeer != null
            ? _openPeer(OpenFlags.O_RDWR | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC)
            : Interop.Fcntl.Dup(Volatile.Read(ref _hostFd));
        if (fd < 0) return null;
        var f = HostFileDescription.FromHostFd(fd);
        f.StatusFlags = flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC);
        return f;
    }
}
