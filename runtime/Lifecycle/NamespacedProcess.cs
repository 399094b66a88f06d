using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using RunscNet.Runtime.Interop;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Starts a program in new namespaces with a raw <c>clone</c> (no CLONE_VM: the child gets a copy
/// of our memory). .NET processes are multi-threaded, so <c>unshare</c> of a mount or user namespace
/// would fail and <c>System.Diagnostics.Process</c> cannot create namespaces. Everything the child
/// needs (argv, envp, the fd moves) is built in native memory before the clone; the child then
/// runs straight-line raw system calls — join namespaces, setsid, move fds, execve — and never
/// returns into managed code that could allocate or take a lock.
/// </summary>
public sealed class NamespacedProcess
{
    /// <summary>Exit codes of a child that failed before execve, by step.</summary>
    public const int ExitSetNsFailed = 121, ExitSetSidFailed = 122, ExitDupFailed = 123, ExitCapabilityDropFailed = 124, ExitUserNamespaceFailed = 125, ExitExecFailed = 127;
    private const long PrCapBsetDrop = 24, CloseRangeCloexec = 4;

    /// <summary>Path of the program (e.g. /proc/self/exe or the runsc-net binary).</summary>
    public required string Executable { get; init; }

    /// <summary>argv, including argv[0].</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>The environment (NAME=VALUE); null: ours.</summary>
    public IReadOnlyList<string>? Environment { get; init; }

    /// <summary>CLONE_NEW* flags of the namespaces to create.</summary>
    public long NamespaceFlags { get; init; }

    /// <summary>Namespaces to join before execve: (fd of the nsfs file, CLONE_NEW* type). The fds stay ours.</summary>
    public IReadOnlyList<(int Fd, long Type)> JoinNamespaces { get; init; } = [];

    /// <summary>
    /// The child's fds: target number → our fd. Targets 0-2 replace stdio (otherwise inherited);
    /// every other fd of ours is close-on-exec and so does not reach the program.
    /// </summary>
    public IReadOnlyDictionary<int, int> Fds { get; init; } = new Dictionary<int, int>();

    /// <summary>
    /// Capabilities (bit n = capability n) the program may ever hold: the others leave the bounding
    /// set before execve, so the program starts without them and can never regain them. Null: all.
    /// </summary>
    public ulong? CapabilityBoundingSet { get; init; }

    /// <summary>Start a new session (detach from the caller's terminal and process group).</summary>
    public bool NewSession { get; init; } = true;

    /// <summary>
    /// Run the program in a new user namespace whose root (uid 0, gid 0, the only ids mapped) is
    /// this host uid/gid; null: stay in ours. The namespaces of <see cref="NamespaceFlags"/> are
    /// then created together with it and so owned by it. We (root) write the child's
    /// setgroups ("deny"), gid_map and uid_map while it waits on a pipe, then it takes uid/gid 0
    /// there and execs: it has capabilities in its own namespace only, none in ours. Namespaces of
    /// <see cref="JoinNamespaces"/> are joined by the cloning thread around the clone (the child
    /// has no right to join namespaces of ours), so the child is born in them.
    /// </summary>
    public (uint Uid, uint Gid)? UserNamespaceRoot { get; init; }

    /// <summary>Clones and execs the child; returns its host pid. Throws <see cref="RuntimeError"/> if clone fails.</summary>
    public unsafe int Start()
    {
        var nr = SyscallNumbers.Current;
        var strings = new List<nint>();
        nint argv = 0, envp = 0, exe = 0;
        int[] moves = Fds.OrderBy(kv => kv.Key).SelectMany(kv => new[] { kv.Key, kv.Value }).ToArray();
        var staged = new List<FileDescriptor>();
        FileDescriptor? syncRead = null, syncWrite = null;
        try
        {
            exe = NativeString(Executable, strings);
            argv = NativeArray(Arguments, strings);
            envp = NativeArray(Environment ?? CurrentEnvironment(), strings);
            // Stage every source fd above any target, so one move never clobbers a later source.
            int floor = Math.Max(100, moves.Length == 0 ? 0 : Fds.Keys.Max() + 1);
            for (int i = 0; i < moves.Length; i += 2)
            {
                int high = Processes.Fcntl(moves[i + 1], Processes.F_DUPFD_CLOEXEC, floor);
                if (high < 0) throw new RuntimeError($"duplicating fd {moves[i + 1]}: {Processes.LastError()}");
                staged.Add(new FileDescriptor(high));
                moves[i + 1] = high;
            }
            bool userNs = UserNamespaceRoot != null;
            long[] joins = userNs ? [] : JoinNamespaces.SelectMany(j => new long[] { j.Fd, j.Type }).ToArray();
            long flags = NamespaceFlags | (userNs ? Processes.CLONE_NEWUSER : 0);
            if (userNs)
            {
                int* ends = stackalloc int[2];
                if (Processes.Pipe2(ends, OpenFlags.O_CLOEXEC) < 0) throw new RuntimeError($"pipe2: {Processes.LastError()}");
                syncRead = new FileDescriptor(ends[0]);
                syncWrite = new FileDescriptor(ends[1]);
            }
            RawSyscalls.Warm();
            // No GC may be under way when we clone: the child must never meet a pending suspension.
            bool noGc = false;
            try { noGc = GC.TryStartNoGCRegion(1 << 20); } catch (InvalidOperationException) { }
            int pid;
            using (var borrowed = userNs ? ThreadNamespaces.Enter(JoinNamespaces) : null)
            using (userNs ? ThreadGroups.DropWhile() : null)
            {
                try
                {
                    pid = CloneAndExec(nr, flags, (byte*)exe, (byte**)argv, (byte**)envp, moves, joins, NewSession,
                        CapabilityBoundingSet ?? ulong.MaxValue, syncRead?.Number ?? -1);
                }
                finally
                {
                    if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
                }
            }
            if (pid < 0) throw new RuntimeError($"clone of {Executable}: {Marshal.GetPInvokeErrorMessage(-pid)}");
            if (userNs) ReleaseIntoUserNamespace(pid, UserNamespaceRoot!.Value, syncWrite!.Number);
            return pid;
        }
        finally
        {
            syncRead?.Dispose();
            syncWrite?.Dispose();
            foreach (var fd in staged) fd.Dispose();
            foreach (nint p in strings) NativeMemory.Free((void*)p);
            if (argv != 0) NativeMemory.Free((void*)argv);
            if (envp != 0) NativeMemory.Free((void*)envp);
        }
    }

    /// <summary>
    /// The clone and everything the child does. Returns the child's pid, or -errno. The child's
    /// path is raw system calls only and ends in execve or exit_group.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe int CloneAndExec(SyscallNumbers nr, long namespaceFlags, byte* exe, byte** argv, byte** envp,
        int[] moves, long[] joins, bool newSession, ulong boundingSet, int syncFd)
    {
        long cloneNr = nr.Clone, setNsNr = nr.SetNs, setSidNr = nr.SetSid, dup3Nr = nr.Dup3,
            execNr = nr.Execve, exitNr = nr.ExitGroup, prctlNr = nr.Prctl, readNr = nr.Read,
            setResUidNr = nr.SetResUid, setResGidNr = nr.SetResGid, closeRangeNr = nr.CloseRange;
        int moveCount = moves.Length;
        int joinCount = joins.Length;
        fixed (int* m = moves)
        fixed (long* j = joins)
        {
            long pid = RawSyscalls.Syscall6(cloneNr, namespaceFlags | Processes.SIGCHLD, 0, 0, 0, 0, 0);
            if (pid < 0) return -*RawSyscalls.ErrnoLocation();
            if (pid > 0) return (int)pid;

            // The child: no allocation, no managed calls, only raw system calls from here.
            if (syncFd >= 0)
            {
                // New user namespace: wait for our maps, then become its root (kuid/kgid = the
                // mapped host ids; the capabilities of the new namespace stay and survive execve).
                byte go = 0;
                if (RawSyscalls.Syscall6(readNr, syncFd, (long)&go, 1, 0, 0, 0) != 1
                    || RawSyscalls.Syscall6(setResGidNr, 0, 0, 0, 0, 0, 0) < 0
                    || RawSyscalls.Syscall6(setResUidNr, 0, 0, 0, 0, 0, 0) < 0)
                    RawSyscalls.Syscall6(exitNr, ExitUserNamespaceFailed, 0, 0, 0, 0, 0);
            }
            for (int i = 0; i < joinCount; i += 2)
            {
                if (RawSyscalls.Syscall6(setNsNr, j[i], j[i + 1], 0, 0, 0, 0) < 0)
                    RawSyscalls.Syscall6(exitNr, ExitSetNsFailed, 0, 0, 0, 0, 0);
            }
            if (newSession && RawSyscalls.Syscall6(setSidNr, 0, 0, 0, 0, 0, 0) < 0)
                RawSyscalls.Syscall6(exitNr, ExitSetSidFailed, 0, 0, 0, 0, 0);
            for (int i = 0; i < moveCount; i += 2)
            {
                // dup3 without O_CLOEXEC: the target survives execve.
                if (RawSyscalls.Syscall6(dup3Nr, m[i + 1], m[i], 0, 0, 0, 0) < 0)
                    RawSyscalls.Syscall6(exitNr, ExitDupFailed, 0, 0, 0, 0, 0);
            }
            // Every other fd above stdio becomes close-on-exec: fds our caller left inheritable
            // (a shell's, conmon's) must not reach the gofer or the Sentry. Targets are sorted.
            long from = 3;
            for (int i = 0; i < moveCount; i += 2)
            {
                if (m[i] < from) continue;
                if (m[i] > from) RawSyscalls.Syscall6(closeRangeNr, from, m[i] - 1, CloseRangeCloexec, 0, 0, 0);
                from = m[i] + 1;
            }
            RawSyscalls.Syscall6(closeRangeNr, from, uint.MaxValue, CloseRangeCloexec, 0, 0, 0);
            for (int cap = 0; cap < 64 && boundingSet != ulong.MaxValue; cap++)
            {
                // EINVAL: past the kernel's last capability.
                if ((boundingSet & (1UL << cap)) == 0 && RawSyscalls.Syscall6(prctlNr, PrCapBsetDrop, cap, 0, 0, 0, 0) < 0
                    && *RawSyscalls.ErrnoLocation() != 22 /* EINVAL */)
                    RawSyscalls.Syscall6(exitNr, ExitCapabilityDropFailed, 0, 0, 0, 0, 0);
            }
            RawSyscalls.Syscall6(execNr, (long)exe, (long)argv, (long)envp, 0, 0, 0);
            RawSyscalls.Syscall6(exitNr, ExitExecFailed, 0, 0, 0, 0, 0);
            return 0; // not reached
        }
    }

    /// <summary>
    /// Writes the id maps of <paramref name="pid"/>'s new user namespace (root there = <paramref name="root"/>
    /// here) and lets it go on; kills and reaps it if that fails.
    /// </summary>
    private static unsafe void ReleaseIntoUserNamespace(int pid, (uint Uid, uint Gid) root, int syncWrite)
    {
        try
        {
            // setgroups first: "deny" must be set before gid_map; nobody in the namespace can then
            // ever add a supplementary group (the child has none: see ThreadGroups).
            File.WriteAllText($"/proc/{pid}/setgroups", "deny");
            File.WriteAllText($"/proc/{pid}/gid_map", $"0 {root.Gid} 1\n");
            File.WriteAllText($"/proc/{pid}/uid_map", $"0 {root.Uid} 1\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Processes.Kill(pid, 9);
            Processes.WaitPid(pid, out _, Processes.__WALL);
            throw new RuntimeError($"writing the user namespace maps of pid {pid}: {e.Message}");
        }
        byte go = 1;
        if (Processes.Write(syncWrite, &go, 1) != 1)
        {
            Processes.Kill(pid, 9);
            Processes.WaitPid(pid, out _, Processes.__WALL);
            throw new RuntimeError($"releasing pid {pid} into its user namespace: {Processes.LastError()}");
        }
    }

    private static List<string> CurrentEnvironment()
    {
        var result = new List<string>();
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            result.Add($"{e.Key}={e.Value}");
        return result;
    }

    private static unsafe nint NativeString(string s, List<nint> owned)
    {
        int length = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, length));
        p[length] = 0;
        owned.Add((nint)p);
        return (nint)p;
    }

    private static unsafe nint NativeArray(IReadOnlyList<string> items, List<nint> owned)
    {
        nint* array = (nint*)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < items.Count; i++) array[i] = NativeString(items[i], owned);
        array[items.Count] = 0;
        return (nint)array;
    }
}
