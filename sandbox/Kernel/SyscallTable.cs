namespace RunscNet.Sentry.Kernel;

/// <summary>The six raw arguments of a system call (x86-64: rdi, rsi, rdx, r10, r8, r9).</summary>
internal readonly record struct SyscallArguments(ulong A0, ulong A1, ulong A2, ulong A3, ulong A4, ulong A5)
{
    /// <summary>Argument <paramref name="i"/> (0-5).</summary>
    public ulong this[int i] => i switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5, _ => throw new ArgumentOutOfRangeException(nameof(i)) };
}

/// <summary>
/// Serves one system call on the calling task's thread. Returns the result, or -errno
/// (including the kernel-internal ERESTART* codes, which the task turns into a restart or EINTR).
/// </summary>
internal delegate long SyscallHandler(Task task, in SyscallArguments args);

/// <summary>How completely the Sentry implements a system call.</summary>
public enum SupportLevel
{
    Supported,
    PartiallySupported,
    Unimplemented,
}

/// <summary>One row of the system-call table.</summary>
public sealed record SyscallEntry(int Number, string Name, SupportLevel Level, string? Note)
{
    /// <summary>The call's handler; null when unimplemented. Kept out of the public row: the CLI prints rows, only the kernel runs them.</summary>
    internal SyscallHandler? Handler { get; init; }
}

/// <summary>
/// The one table that says which x86-64 system calls the Sentry serves and how (gVisor's
/// linux64.go). The kernel dispatches through it and knows no handler: each subsystem file in
/// Syscalls/ registers its own rows (<c>LinuxSyscalls.Table</c>); `runsc-net syscalls` prints the
/// table, so documentation cannot drift from code.
/// </summary>
public sealed class SyscallTable
{
    /// <summary>Highest x86-64 system call number plus one that the table covers.</summary>
    public const int Size = 512;

    private readonly SyscallEntry?[] _entries = new SyscallEntry?[Size];

    /// <summary>Adds a fully supported call.</summary>
    internal void Supported(int nr, string name, SyscallHandler handler, string? note = null)
        => Add(new SyscallEntry(nr, name, SupportLevel.Supported, note) { Handler = handler });

    /// <summary>Adds a call whose semantics are partly implemented; <paramref name="note"/> says what is missing.</summary>
    internal void Partial(int nr, string name, SyscallHandler handler, string note)
        => Add(new SyscallEntry(nr, name, SupportLevel.PartiallySupported, note) { Handler = handler });

    /// <summary>Records a known call the Sentry does not implement (it returns ENOSYS, or <paramref name="note"/> says otherwise).</summary>
    public void Unimplemented(int nr, string name, string? note = null)
        => Add(new SyscallEntry(nr, name, SupportLevel.Unimplemented, note));

    private void Add(SyscallEntry e)
    {
        if (_entries[e.Number] is { } old)
            throw new InvalidOperationException($"system call {e.Number} registered twice ({old.Name}, {e.Name})");
        _entries[e.Number] = e;
    }

    /// <summary>The row for <paramref name="nr"/>, or null when the number is unknown.</summary>
    public SyscallEntry? Lookup(long nr) => nr >= 0 && nr < Size ? _entries[nr] : null;

    /// <summary>Every registered row, by number.</summary>
    public IEnumerable<SyscallEntry> Entries => _entries.Where(e => e is not null)!;

    /// <summary>
    /// Every x86-64 system call (<see cref="X86SyscallNames"/>) with this table's support for it:
    /// its row when there is one, else unimplemented with the ENOSYS note (`runsc-net syscalls`).
    /// </summary>
    public IReadOnlyList<SyscallEntry> Catalog()
    {
        var rows = new SortedDictionary<int, SyscallEntry>();
        foreach (var (nr, name) in X86SyscallNames.All)
            rows[nr] = Lookup(nr) ?? new SyscallEntry(nr, name, SupportLevel.Unimplemented, "no handler: returns ENOSYS");
        foreach (var e in Entries) rows[e.Number] = e;
        return rows.Values.ToList();
    }

    /// <summary>The word `runsc-net syscalls` prints for a support level.</summary>
    public static string LevelName(SupportLevel level) => level switch
    {
        SupportLevel.Supported => "supported",
        SupportLevel.PartiallySupported => "partial",
        _ => "unsupported",
    };
}
