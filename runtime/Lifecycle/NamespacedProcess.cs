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
    public const int ExitSetNsFailed = 121, ExitSetSidFailed = 122, ExitDupFailed = 123, ExitCapabilityDropFailed = 124, ExitExecFailed = 127;
    private const long PrCapBsetDrop = 24;

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

    /// <summary>Clones and execs the child; returns its host pid. Throws <see cref="RuntimeError"/> if clone fails.</summary>
    public unsafe int Start()
    {
        var nr = SyscallNumbers.Current;
        var strings = new List<nint>();
        nint argv = 0, envp = 0, exe = 0;
        int[] moves = Fds.OrderBy(kv => kv.Key).SelectMany(kv => new[] { kv.Key, kv.Value }).ToArray();
        var staged = new List<int>();
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
                staged.Add(high);
                moves[i + 1] = high;
            }
            long[] joins = JoinNamespaces.SelectMany(j => new long[] { j.Fd, j.Type }).ToArray();
            RawSyscalls.Warm();
            // No GC may be under way when we clone: the child must never meet a pending suspension.
            bool noGc = false;
            try { noGc = GC.TryStartNoGCRegion(1 << 20); } catch (InvalidOperationException) { }
            int pid;
            try
            {
                pid = CloneAndExec(nr, NamespaceFlags, (byte*)exe, (byte**)argv, (byte**)envp, moves, joins, NewSession,
                    CapabilityBoundingSet ?? ulong.MaxValue);
            }
            finally
            {
                if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
            }
            if (pid < 0) throw new RuntimeError($"clone of {Executable}: {Marshal.GetPInvokeErrorMessage(-pid)}");
            return pid;
        }
        finally
        {
            foreach (int fd in staged) Processes.Close(fd);
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
        int[] moves, long[] joins, bool newSession, ulong boundingSet)
    {
        long cloneNr = nr.Clone, setNsNr = nr.SetNs, setSidNr = nr.SetSid, dup3Nr = nr.Dup3,
            execNr = nr.Execve, exitNr = nr.ExitGroup, prctlNr = nr.Prctl;
        int moveCount = moves.Length;
        int joinCount = joins.Length;
        fixed (int* m = moves)
        fixed (long* j = joins)
        {
            long pid = RawSyscalls.Syscall6(cloneNr, namespaceFlags | Processes.SIGCHLD, 0, 0, 0, 0, 0);
            if (pid < 0) return -*RawSyscalls.ErrnoLocation();
            if (pid > 0) return (int)pid;

            // The child: no allocation, no managed calls, only raw system calls from here.
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
