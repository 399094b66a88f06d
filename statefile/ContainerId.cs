namespace RunscNet.StateFile;

/// <summary>
/// The rule for container and sandbox IDs: <c>[A-Za-z0-9][A-Za-z0-9_.-]*</c>, at most
/// <see cref="MaxLength"/> characters. IDs become file names under the root directory, so the rule
/// guarantees no ID can name a path outside it ("..", "/", NUL are impossible).
/// </summary>
public static class ContainerId
{
    /// <summary>
    /// The longest ID accepted. A state file is named <c>&lt;cid&gt;_sand:&lt;sid&gt;.state.tmp</c>, and a
    /// file name is limited to 255 bytes (NAME_MAX): 2 × 118 + 6 ("_sand:") + 10 (".state.tmp") = 252.
    /// runc limits IDs only by its directory name (255); container engines use 64-character IDs.
    /// </summary>
    public const int MaxLength = 118;

    /// <summary>Throws <see cref="InvalidContainerIdException"/> if <paramref name="id"/> breaks the rule.</summary>
    public static void Validate(string id)
    {
        if (string.IsNullOrEmpty(id))
            throw new InvalidContainerIdException(id ?? "", "it is empty");
        if (id.Length > MaxLength)
            throw new InvalidContainerIdException(id, $"longer than {MaxLength} characters");
        if (!char.IsAsciiLetterOrDigit(id[0]))
            throw new InvalidContainerIdException(id, "it must start with a letter or digit");
        foreach (char c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '.' && c != '-')
                throw new InvalidContainerIdException(id, "only letters, digits, '_', '.' and '-' are allowed");
        }
    }

    /// <summary>True when <paramref name="id"/> follows the rule.</summary>
    public static bool IsValid(string id)
    {
        try { Validate(id); return true; }
        catch (InvalidContainerIdException) { return false; }
    }
}
