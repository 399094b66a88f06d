namespace RunscNet.Sentry.Kernel.Seccomp;

/// <summary>
/// seccomp(2) return values of a filter: the action in the high 16 bits, data (an errno, a
/// trace message) in the low 16. Filters of a task are all run; the action with the highest
/// precedence wins (KILL_PROCESS first, ALLOW last), as Linux's seccomp_run_filters chooses.
/// </summary>
internal static class SeccompAction
{
    public const uint KillProcess = 0x80000000, KillThread = 0x00000000, Trap = 0x00030000, Errno = 0x00050000,
        UserNotif = 0x7fc00000, Trace = 0x7ff00000, Log = 0x7ffc0000, Allow = 0x7fff0000;

    /// <summary>SECCOMP_RET_ACTION_FULL and SECCOMP_RET_DATA.</summary>
    public const uint ActionMask = 0xffff0000, DataMask = 0x0000ffff;

    /// <summary>The action part of a filter's return value.</summary>
    public static uint ActionOf(uint value) => value & ActionMask;

    /// <summary>
    /// Precedence as Linux compares it: the action as a signed 32-bit value, lower wins
    /// (KILL_PROCESS is negative). An unknown action acts as KILL_PROCESS (seccomp(2)).
    /// </summary>
    public static bool Precedes(uint a, uint b) => unchecked((int)ActionOf(a)) < unchecked((int)ActionOf(b));

    /// <summary>True for the actions this Sentry carries out (SECCOMP_GET_ACTION_AVAIL).</summary>
    public static bool IsAvailable(uint action) =>
        action is KillProcess or KillThread or Trap or Errno or Trace or Log or Allow;
}

/// <summary>The 64 bytes a filter sees (struct seccomp_data, x86-64).</summary>
public readonly record struct SeccompData(int Nr, uint Arch, ulong InstructionPointer, ulong A0, ulong A1, ulong A2, ulong A3, ulong A4, ulong A5)
{
    /// <summary>AUDIT_ARCH_X86_64: the only system-call convention the Sentry serves.</summary>
    public const uint ArchX86_64 = 0xc000003e;

    /// <summary>sizeof(struct seccomp_data).</summary>
    public const int Size = 64;

    /// <summary>Argument <paramref name="i"/> (0-5).</summary>
    public ulong Arg(int i) => i switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, _ => A5 };

    /// <summary>The 32-bit word at byte <paramref name="offset"/> (4-aligned, below 64), as a BPF_ABS load reads it.</summary>
    public uint Word(uint offset) => offset switch
    {
        0 => unchecked((uint)Nr),
        4 => Arch,
        8 => (uint)InstructionPointer,
        12 => (uint)(InstructionPointer >> 32),
        _ => (offset & 4) == 0 ? (uint)Arg((int)(offset - 16) / 8) : (uint)(Arg((int)(offset - 16) / 8) >> 32),
    };
}

/// <summary>One filter installed on a task: a classic BPF program or an OCI profile.</summary>
internal interface ISeccompFilter
{
    /// <summary>The filter's return value for a system call.</summary>
    uint Evaluate(in SeccompData data);

    /// <summary>The program's length in instructions (Linux limits a task's filters to 32768 with 4 per filter extra).</summary>
    int Length { get; }

    /// <summary>SECCOMP_FILTER_FLAG_LOG: actions other than ALLOW are logged.</summary>
    bool Log { get; }
}
