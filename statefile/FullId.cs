namespace RunscNet.StateFile;

/// <summary>
/// A container's identity in the root directory: its sandbox ID and its container ID. The sandbox
/// ID is part of the file name so every container of one sandbox can be found by it.
/// </summary>
public readonly record struct FullId(string SandboxId, string ContainerId)
{
    private const string Separator = "_sand:";

    /// <summary>The file-name stem shared by the state and lock files: <c>&lt;cid&gt;_sand:&lt;sid&gt;</c>.</summary>
    public string FileStem => ContainerId + Separator + SandboxId;

    /// <summary>True for a sandbox's root container (its ID is the sandbox's), which owns the boot process.</summary>
    public bool IsSandboxRoot => ContainerId == SandboxId;

    /// <summary>Validates both IDs (throws <see cref="InvalidContainerIdException"/>).</summary>
    public void Validate()
    {
        global::RunscNet.StateFile.ContainerId.Validate(ContainerId);
        global::RunscNet.StateFile.ContainerId.Validate(SandboxId);
    }

    /// <summary>Parses a stem <c>&lt;cid&gt;_sand:&lt;sid&gt;</c>; null if it is not one.</summary>
    public static FullId? TryParseStem(string stem)
    {
        int at = stem.IndexOf(Separator, StringComparison.Ordinal);
        if (at <= 0) return null;
        string cid = stem[..at];
        string sid = stem[(at + Separator.Length)..];
        if (!global::RunscNet.StateFile.ContainerId.IsValid(cid) || !global::RunscNet.StateFile.ContainerId.IsValid(sid)) return null;
        return new FullId(sid, cid);
    }

    /// <inheritdoc/>
    public override string ToString() => FileStem;
}
