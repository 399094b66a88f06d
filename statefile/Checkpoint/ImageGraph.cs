using System.ComponentModel;
using ProtoBuf;

namespace RunscNet.StateFile.Checkpoint;

// The object graph of a checkpoint image, as protobuf-net contracts. Under NativeAOT protobuf-net
// cannot build serializers of repeated value-type fields, so such lists travel packed in byte[]
// (little-endian) and every repeated field is a list of contracts. Everything here is untrusted
// when read back: the restorer validates each value before acting on it.

/// <summary>The whole sandbox: its processes, their open files and the pipes between them.</summary>
[ProtoContract]
public sealed class SandboxImage
{
    /// <summary>The last PID handed out (new processes after restore continue from it).</summary>
    [ProtoMember(1)] public int LastPid { get; set; }

    /// <summary>Every process, parents before children.</summary>
    [ProtoMember(2)] public List<ProcessImage> Processes { get; set; } = new();

    /// <summary>Every open file description some fd refers to.</summary>
    [ProtoMember(3)] public List<FileImage> Files { get; set; } = new();

    /// <summary>Every pipe some saved description is an end of.</summary>
    [ProtoMember(4)] public List<PipeImage> Pipes { get; set; } = new();

    /// <summary>
    /// Every AF_UNIX socket some saved description is, or that one of them reaches (its peer, the
    /// connections waiting in a listener's backlog), closed ones included.
    /// </summary>
    [ProtoMember(5)] public List<UnixSocketImage> UnixSockets { get; set; } = new();

    /// <summary>The contents of the container's tmpfs mounts (/dev/shm, tmpfs mounts of the spec).</summary>
    [ProtoMember(6)] public List<TmpfsMountImage> Tmpfs { get; set; } = new();

    /// <summary>The container's console (process.terminal), null without one.</summary>
    [ProtoMember(7)] public ConsoleImage? Console { get; set; }

    /// <summary>The System V IPC namespace's objects, null when it holds none.</summary>
    [ProtoMember(8)] public IpcImage? Ipc { get; set; }
}

/// <summary>One tmpfs mount: where it is, and its files, parents before children.</summary>
[ProtoContract]
public sealed class TmpfsMountImage
{
    /// <summary>The mount point, absolute in the container's root.</summary>
    [ProtoMember(1)] public string Path { get; set; } = "";
    [ProtoMember(2)] public List<TmpfsEntryImage> Entries { get; set; } = new();
}

/// <summary>
/// One file of a tmpfs mount. A regular file's bytes are pages of the page stream (the last
/// one zero-padded); a second name of a file already saved is a hard link to it.
/// </summary>
[ProtoContract]
public sealed class TmpfsEntryImage
{
    /// <summary>Relative to the mount point ("" is the mount's root directory).</summary>
    [ProtoMember(1)] public string Path { get; set; } = "";
    /// <summary>File type and permission bits (st_mode).</summary>
    [ProtoMember(2)] public uint Mode { get; set; }
    [ProtoMember(3)] public uint Uid { get; set; }
    [ProtoMember(4)] public uint Gid { get; set; }
    /// <summary>A regular file's size in bytes.</summary>
    [ProtoMember(5)] public long Size { get; set; }
    /// <summary>Index in the page stream of a regular file's first page.</summary>
    [ProtoMember(6)] public long FirstPage { get; set; }
    /// <summary>A symbolic link's target.</summary>
    [ProtoMember(7)] public string Target { get; set; } = "";
    /// <summary>For another name of an earlier file: that file's path (relative to the mount point).</summary>
    [ProtoMember(8)] public string LinkTo { get; set; } = "";
    [ProtoMember(9)] public long MtimeNs { get; set; }
}

/// <summary>One process (thread group).</summary>
[ProtoContract]
public sealed class ProcessImage
{
    [ProtoMember(1)] public int Pid { get; set; }
    /// <summary>0 for init (no parent in the sandbox).</summary>
    [ProtoMember(2)] public int ParentPid { get; set; }
    [ProtoMember(3)] public int ProcessGroup { get; set; }
    [ProtoMember(4)] public int Session { get; set; }
    /// <summary>Exited, not yet waited for: no tasks, no memory.</summary>
    [ProtoMember(5)] public bool Zombie { get; set; }
    [ProtoMember(6)] public int ExitStatus { get; set; }
    [ProtoMember(7)] public int ExitSignal { get; set; }
    /// <summary>The 64 signal actions, index = signal - 1.</summary>
    [ProtoMember(8)] public List<SignalActionImage> Handlers { get; set; } = new();
    /// <summary>Process-directed pending signals.</summary>
    [ProtoMember(9)] public List<SignalInfoImage> Pending { get; set; } = new();
    [ProtoMember(10)] public List<RlimitImage> Limits { get; set; } = new();
    [ProtoMember(11)] public AddressSpaceImage? Memory { get; set; }
    [ProtoMember(12)] public List<FdImage> Fds { get; set; } = new();
    /// <summary>Working directory, absolute in the container's root.</summary>
    [ProtoMember(13), DefaultValue("/")] public string Cwd { get; set; } = "/";
    [ProtoMember(14)] public int Umask { get; set; }
    [ProtoMember(15)] public List<TaskImage> Tasks { get; set; } = new();
    [ProtoMember(16)] public int OomScoreAdj { get; set; }
    [ProtoMember(17)] public int OomScoreAdjMin { get; set; }
    [ProtoMember(18)] public bool IsSubreaper { get; set; }
    [ProtoMember(19)] public int Dumpable { get; set; }
    /// <summary>ITIMER_REAL: nanoseconds to its next expiry (0: disarmed) and its interval.</summary>
    [ProtoMember(20)] public long RealTimerRemainingNs { get; set; }
    [ProtoMember(21)] public long RealTimerIntervalNs { get; set; }
    /// <summary>The process's name (comm), which a zombie keeps.</summary>
    [ProtoMember(22)] public string Comm { get; set; } = "";
    /// <summary>timer_create(2) timers, by id.</summary>
    [ProtoMember(23)] public List<PosixTimerImage> PosixTimers { get; set; } = new();
    /// <summary>The POSIX record locks (F_SETLK) the process holds; owned by its fd table.</summary>
    [ProtoMember(24)] public List<RecordLockImage> RecordLocks { get; set; } = new();
    /// <summary>ITIMER_VIRTUAL and ITIMER_PROF: CPU nanoseconds to the next expiry (0: disarmed) and interval.</summary>
    [ProtoMember(25)] public long VirtualTimerRemainingNs { get; set; }
    [ProtoMember(26)] public long VirtualTimerIntervalNs { get; set; }
    [ProtoMember(27)] public long ProfTimerRemainingNs { get; set; }
    [ProtoMember(28)] public long ProfTimerIntervalNs { get; set; }
    /// <summary>CPU time (ns) the process had used, which its CPU clocks go on from.</summary>
    [ProtoMember(29)] public long CpuNanos { get; set; }
    /// <summary>CPU time (ns) of its reaped children (times(2), RUSAGE_CHILDREN).</summary>
    [ProtoMember(30)] public long ChildrenCpuNanos { get; set; }
    /// <summary>Started by `runsc-net exec` (no parent; nobody waits for it after restore).</summary>
    [ProtoMember(31)] public bool Exec { get; set; }
}

/// <summary>One POSIX timer: its id, clock, notification, and the time to its next expiry.</summary>
[ProtoContract]
public sealed class PosixTimerImage
{
    [ProtoMember(1)] public int Id { get; set; }
    [ProtoMember(2)] public int Clock { get; set; }
    /// <summary>SIGEV_SIGNAL (0), SIGEV_NONE (1), SIGEV_THREAD_ID (4).</summary>
    [ProtoMember(3)] public int Notify { get; set; }
    [ProtoMember(4)] public int Signal { get; set; }
    [ProtoMember(5)] public ulong Value { get; set; }
    /// <summary>The thread SIGEV_THREAD_ID targets (0: the process).</summary>
    [ProtoMember(6)] public int TargetTid { get; set; }
    /// <summary>Nanoseconds to the next expiry (0: disarmed) and the interval.</summary>
    [ProtoMember(7)] public long RemainingNs { get; set; }
    [ProtoMember(8)] public long IntervalNs { get; set; }
}

/// <summary>One sigaction.</summary>
[ProtoContract]
public sealed class SignalActionImage
{
    [ProtoMember(1)] public ulong Handler { get; set; }
    [ProtoMember(2)] public ulong Flags { get; set; }
    [ProtoMember(3)] public ulong Restorer { get; set; }
    [ProtoMember(4)] public ulong Mask { get; set; }
}

/// <summary>A queued signal as its 128-byte siginfo.</summary>
[ProtoContract]
public sealed class SignalInfoImage
{
    [ProtoMember(1)] public byte[] SigInfo { get; set; } = Array.Empty<byte>();
}

/// <summary>One resource limit.</summary>
[ProtoContract]
public sealed class RlimitImage
{
    [ProtoMember(1)] public int Resource { get; set; }
    [ProtoMember(2)] public ulong Soft { get; set; }
    [ProtoMember(3)] public ulong Hard { get; set; }
}

/// <summary>One thread.</summary>
[ProtoContract]
public sealed class TaskImage
{
    [ProtoMember(1)] public int Tid { get; set; }
    [ProtoMember(2)] public string Name { get; set; } = "";
    /// <summary>user_regs_struct (27 × u64), as the task returns to user code (a system call to restart is rolled back).</summary>
    [ProtoMember(3)] public byte[] Registers { get; set; } = Array.Empty<byte>();
    /// <summary>The fxsave area (512 bytes).</summary>
    [ProtoMember(4)] public byte[] Fpu { get; set; } = Array.Empty<byte>();
    [ProtoMember(5)] public ulong SignalMask { get; set; }
    [ProtoMember(6)] public List<SignalInfoImage> Pending { get; set; } = new();
    [ProtoMember(7)] public ulong AltStackSp { get; set; }
    [ProtoMember(8)] public ulong AltStackSize { get; set; }
    [ProtoMember(9)] public int AltStackFlags { get; set; }
    [ProtoMember(10)] public ulong ClearChildTid { get; set; }
    [ProtoMember(11)] public ulong RobustList { get; set; }
    [ProtoMember(12)] public CredentialsImage? Credentials { get; set; }
    [ProtoMember(13)] public bool NoNewPrivileges { get; set; }
    [ProtoMember(14)] public int Nice { get; set; }
    [ProtoMember(15)] public int ParentDeathSignal { get; set; }
}

/// <summary>A task's credentials.</summary>
[ProtoContract]
public sealed class CredentialsImage
{
    [ProtoMember(1)] public uint Uid { get; set; }
    [ProtoMember(2)] public uint Gid { get; set; }
    [ProtoMember(3)] public uint Euid { get; set; }
    [ProtoMember(4)] public uint Egid { get; set; }
    [ProtoMember(5)] public uint Suid { get; set; }
    [ProtoMember(6)] public uint Sgid { get; set; }
    [ProtoMember(7)] public uint Fsuid { get; set; }
    [ProtoMember(8)] public uint Fsgid { get; set; }
    /// <summary>Supplementary groups, packed u32.</summary>
    [ProtoMember(9)] public byte[] Groups { get; set; } = Array.Empty<byte>();
    [ProtoMember(10)] public ulong Effective { get; set; }
    [ProtoMember(11)] public ulong Permitted { get; set; }
    [ProtoMember(12)] public ulong Inheritable { get; set; }
    [ProtoMember(13)] public ulong Bounding { get; set; }
    [ProtoMember(14)] public ulong Ambient { get; set; }
    [ProtoMember(15)] public int SecureBits { get; set; }
}

/// <summary>An address space: its VMAs and where their saved pages lie in the page stream.</summary>
[ProtoContract]
public sealed class AddressSpaceImage
{
    [ProtoMember(1)] public ulong BrkStart { get; set; }
    [ProtoMember(2)] public ulong Brk { get; set; }
    [ProtoMember(3)] public ulong ArgStart { get; set; }
    [ProtoMember(4)] public ulong ArgEnd { get; set; }
    [ProtoMember(5)] public ulong EnvStart { get; set; }
    [ProtoMember(6)] public ulong EnvEnd { get; set; }
    [ProtoMember(7)] public string ExecutablePath { get; set; } = "";
    [ProtoMember(8)] public byte[] Auxv { get; set; } = Array.Empty<byte>();
    /// <summary>Where the host vDSO was (the restored stub's is moved there).</summary>
    [ProtoMember(9)] public ulong VdsoBase { get; set; }
    [ProtoMember(10)] public List<VmaImage> Vmas { get; set; } = new();
}

/// <summary>One mapping. Pages not listed read as zero (anonymous) or as the file's bytes.</summary>
[ProtoContract]
public sealed class VmaImage
{
    [ProtoMember(1)] public ulong Start { get; set; }
    [ProtoMember(2)] public ulong End { get; set; }
    [ProtoMember(3)] public int Prot { get; set; }
    [ProtoMember(4)] public int Flags { get; set; }
    [ProtoMember(5)] public string? Name { get; set; }
    [ProtoMember(6)] public ulong Offset { get; set; }
    /// <summary>The mapped file's path in the container (empty: anonymous memory).</summary>
    [ProtoMember(7)] public string FilePath { get; set; } = "";
    /// <summary>Page numbers within the VMA of the saved pages, packed u32, ascending.</summary>
    [ProtoMember(8)] public byte[] SavedPages { get; set; } = Array.Empty<byte>();
    /// <summary>Index in the page stream of the first saved page (the others follow in order).</summary>
    [ProtoMember(9)] public long FirstPage { get; set; }
    /// <summary>The file's size at checkpoint time (a changed file is refused at restore).</summary>
    [ProtoMember(10)] public long FileSize { get; set; }
    /// <summary>A SysV shared memory attachment: the segment's index in <see cref="IpcImage.SharedMemory"/> + 1 (0: none).</summary>
    [ProtoMember(11)] public int SharedMemorySegment { get; set; }
    /// <summary>Counted in the segment's shm_nattch (shmat in this address space, not a copy fork made).</summary>
    [ProtoMember(12)] public bool SharedMemoryAttached { get; set; }
}

/// <summary>What an fd of a process refers to.</summary>
[ProtoContract]
public sealed class FdImage
{
    [ProtoMember(1)] public int Fd { get; set; }
    /// <summary>Index into <see cref="SandboxImage.Files"/>.</summary>
    [ProtoMember(2)] public int File { get; set; }
    [ProtoMember(3)] public bool CloseOnExec { get; set; }
}

/// <summary>The kinds of open file description an image can hold.</summary>
public static class FileKind
{
    /// <summary>One of the sandbox's standard streams (the new sandbox's are used on restore).</summary>
    public const int Stdio = 1;
    /// <summary>A file reopened by path (gofer files, device nodes).</summary>
    public const int Path = 2;
    /// <summary>The read end of a pipe.</summary>
    public const int PipeRead = 3;
    /// <summary>The write end of a pipe.</summary>
    public const int PipeWrite = 4;
    /// <summary>An AF_UNIX socket (<see cref="FileImage.Socket"/>).</summary>
    public const int UnixSocket = 5;
    /// <summary>An eventfd (<see cref="FileImage.EventCount"/>, <see cref="FileImage.Semaphore"/>).</summary>
    public const int EventFd = 6;
    /// <summary>A timerfd (<see cref="FileImage.Clock"/>, remaining time, interval, unread expirations).</summary>
    public const int TimerFd = 7;
    /// <summary>A signalfd (<see cref="FileImage.SignalMask"/>).</summary>
    public const int SignalFd = 8;
    /// <summary>An epoll instance (<see cref="FileImage.Interests"/>).</summary>
    public const int Epoll = 9;
    /// <summary>A memfd: name, mode, owner, seals and its bytes in the page stream.</summary>
    public const int Memfd = 10;
    /// <summary>The container's console (process.terminal); the new sandbox's console on restore.</summary>
    public const int Console = 11;
    /// <summary>A host inet/inet6/netlink socket (<see cref="FileImage.HostSocket"/>).</summary>
    public const int HostSocket = 12;
    /// <summary>An inotify instance (<see cref="FileImage.Inotify"/>).</summary>
    public const int Inotify = 13;
}

/// <summary>One open file description (shared by every fd that refers to it).</summary>
[ProtoContract]
public sealed class FileImage
{
    /// <summary>A <see cref="FileKind"/> value.</summary>
    [ProtoMember(1)] public int Kind { get; set; }
    /// <summary>Path in the container (Path kind).</summary>
    [ProtoMember(2)] public string Path { get; set; } = "";
    [ProtoMember(3)] public long Offset { get; set; }
    /// <summary>Open flags (access mode and status flags).</summary>
    [ProtoMember(4)] public int Flags { get; set; }
    /// <summary>0, 1 or 2 (Stdio kind).</summary>
    [ProtoMember(5)] public int StdioIndex { get; set; }
    /// <summary>Index into <see cref="SandboxImage.Pipes"/> (pipe kinds).</summary>
    [ProtoMember(6)] public int Pipe { get; set; }
    /// <summary>The file's size at checkpoint time (Path kind, regular files; -1 otherwise).</summary>
    [ProtoMember(7), DefaultValue(-1L)] public long Size { get; set; } = -1;
    /// <summary>Index into <see cref="SandboxImage.UnixSockets"/> (UnixSocket kind).</summary>
    [ProtoMember(8)] public int Socket { get; set; }
    /// <summary>The eventfd's counter.</summary>
    [ProtoMember(9)] public ulong EventCount { get; set; }
    /// <summary>EFD_SEMAPHORE.</summary>
    [ProtoMember(10)] public bool Semaphore { get; set; }
    /// <summary>The timerfd's clock.</summary>
    [ProtoMember(11)] public int Clock { get; set; }
    /// <summary>The timerfd's time to its next expiry (0: disarmed) and interval, in nanoseconds.</summary>
    [ProtoMember(12)] public long TimerRemainingNs { get; set; }
    [ProtoMember(13)] public long TimerIntervalNs { get; set; }
    /// <summary>The timerfd's expirations not yet read.</summary>
    [ProtoMember(14)] public ulong Expirations { get; set; }
    /// <summary>The signalfd's mask.</summary>
    [ProtoMember(15)] public ulong SignalMask { get; set; }
    /// <summary>The epoll instance's interest list.</summary>
    [ProtoMember(16)] public List<EpollInterestImage> Interests { get; set; } = new();
    /// <summary>The flock(2) this description holds: 0 none, 1 shared, 2 exclusive (Path kind).</summary>
    [ProtoMember(17)] public int Flock { get; set; }
    /// <summary>The open-file-description record locks (F_OFD_SETLK) it holds (Path kind; <see cref="RecordLockImage.File"/> unused).</summary>
    [ProtoMember(18)] public List<RecordLockImage> OfdLocks { get; set; } = new();
    /// <summary>The memfd's name (without "memfd:"), mode, owner, seals, size and first page in the page stream (Memfd kind).</summary>
    [ProtoMember(19)] public string MemfdName { get; set; } = "";
    [ProtoMember(20)] public uint Mode { get; set; }
    [ProtoMember(21)] public uint Uid { get; set; }
    [ProtoMember(22)] public uint Gid { get; set; }
    [ProtoMember(23)] public int Seals { get; set; }
    [ProtoMember(24)] public long FirstPage { get; set; }
    /// <summary>The host socket (HostSocket kind).</summary>
    [ProtoMember(25)] public HostSocketImage? HostSocket { get; set; }
    /// <summary>The inotify instance (Inotify kind).</summary>
    [ProtoMember(26)] public InotifyImage? Inotify { get; set; }
}

/// <summary>A record lock: F_RDLCK (0) or F_WRLCK (1) over [Start, End) (End long.MaxValue: to the end of the file).</summary>
[ProtoContract]
public sealed class RecordLockImage
{
    /// <summary>Index into <see cref="SandboxImage.Files"/>: a file of the process's fds on the locked file (process-owned locks).</summary>
    [ProtoMember(1)] public int File { get; set; }
    [ProtoMember(2)] public int Type { get; set; }
    [ProtoMember(3)] public long Start { get; set; }
    [ProtoMember(4)] public long End { get; set; }
}

/// <summary>One entry of an epoll interest list: the watched description (file index), the fd it was added by, events and data.</summary>
[ProtoContract]
public sealed class EpollInterestImage
{
    [ProtoMember(1)] public int Fd { get; set; }
    /// <summary>Index into <see cref="SandboxImage.Files"/>.</summary>
    [ProtoMember(2)] public int File { get; set; }
    [ProtoMember(3)] public uint Events { get; set; }
    [ProtoMember(4)] public ulong Data { get; set; }
    /// <summary>An EPOLLONESHOT entry that fired and was not re-armed.</summary>
    [ProtoMember(5)] public bool Disabled { get; set; }
}

/// <summary>A pipe and the bytes written to it that nobody read yet.</summary>
[ProtoContract]
public sealed class PipeImage
{
    [ProtoMember(1)] public byte[] Data { get; set; } = Array.Empty<byte>();
    [ProtoMember(2)] public int Capacity { get; set; }
}

/// <summary>
/// An AF_UNIX socket (unix(7)): its type, connection state, address and binding, credentials,
/// options and the messages queued for it to receive. Other sockets are named by their index in
/// <see cref="SandboxImage.UnixSockets"/> plus one (0: none).
/// </summary>
[ProtoContract]
public sealed class UnixSocketImage
{
    /// <summary>SOCK_STREAM (1), SOCK_DGRAM (2) or SOCK_SEQPACKET (5).</summary>
    [ProtoMember(1)] public int Type { get; set; }
    /// <summary>The description's status flags (O_RDWR, O_NONBLOCK...).</summary>
    [ProtoMember(2)] public int Flags { get; set; }
    /// <summary>The connected peer (stream, seqpacket) or the default destination (datagram), index + 1; 0: none.</summary>
    [ProtoMember(3)] public int Peer { get; set; }
    [ProtoMember(4)] public bool Connected { get; set; }
    [ProtoMember(5)] public bool Listening { get; set; }
    [ProtoMember(6)] public int BacklogMax { get; set; }
    /// <summary>Connections not yet accepted, in order: packed u32 socket indexes + 1.</summary>
    [ProtoMember(7)] public byte[] Backlog { get; set; } = Array.Empty<byte>();
    [ProtoMember(8)] public bool PeerClosed { get; set; }
    [ProtoMember(9)] public bool ShutRead { get; set; }
    [ProtoMember(10)] public bool ShutWrite { get; set; }
    /// <summary>Closed by every holder, kept because a live socket still refers to it.</summary>
    [ProtoMember(11)] public bool Closed { get; set; }
    /// <summary>The bound sockaddr_un as the application gave it (abstract names start with a NUL); empty: unbound.</summary>
    [ProtoMember(12)] public byte[] Address { get; set; } = Array.Empty<byte>();
    /// <summary>For a socket bound to a path: the socket file, absolute in the container's root.</summary>
    [ProtoMember(13)] public string BoundPath { get; set; } = "";
    /// <summary>SO_PEERCRED of this socket as its peers see it: pid, uid, gid.</summary>
    [ProtoMember(14)] public int CredPid { get; set; }
    [ProtoMember(15)] public uint CredUid { get; set; }
    [ProtoMember(16)] public uint CredGid { get; set; }
    /// <summary>The peer's credentials as SO_PEERCRED reports them, when known.</summary>
    [ProtoMember(17)] public bool HasPeerCred { get; set; }
    [ProtoMember(18)] public int PeerCredPid { get; set; }
    [ProtoMember(19)] public uint PeerCredUid { get; set; }
    [ProtoMember(20)] public uint PeerCredGid { get; set; }
    /// <summary>What was sent to this socket and not yet received, oldest first.</summary>
    [ProtoMember(21)] public List<UnixMessageImage> Queue { get; set; } = new();
    /// <summary>Socket options set with setsockopt(2) (SOL_SOCKET).</summary>
    [ProtoMember(22)] public List<SocketOptionImage> Options { get; set; } = new();
}

/// <summary>One queued message (a datagram, a seqpacket record, or a stream write's unread rest).</summary>
[ProtoContract]
public sealed class UnixMessageImage
{
    [ProtoMember(1)] public byte[] Data { get; set; } = Array.Empty<byte>();
    /// <summary>The sender's address (empty: unnamed).</summary>
    [ProtoMember(2)] public byte[] From { get; set; } = Array.Empty<byte>();
    [ProtoMember(3)] public int CredPid { get; set; }
    [ProtoMember(4)] public uint CredUid { get; set; }
    [ProtoMember(5)] public uint CredGid { get; set; }
    /// <summary>Files in flight with it (SCM_RIGHTS): packed u32 indexes into <see cref="SandboxImage.Files"/>.</summary>
    [ProtoMember(6)] public byte[] Rights { get; set; } = Array.Empty<byte>();
}

/// <summary>A socket option's level, name and value.</summary>
[ProtoContract]
public sealed class SocketOptionImage
{
    [ProtoMember(1)] public int Level { get; set; }
    [ProtoMember(2)] public int Name { get; set; }
    [ProtoMember(3)] public byte[] Value { get; set; } = Array.Empty<byte>();
}
