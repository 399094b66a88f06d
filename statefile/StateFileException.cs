namespace RunscNet.StateFile;

/// <summary>A failure of a state-file operation; the message is one line meant for the user.</summary>
public class StateFileException : Exception
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public StateFileException(string message) : base(message) { }
}

/// <summary>The state file is locked by another process and the caller asked not to wait (TryLock).</summary>
internal sealed class StateFileLockedException : StateFileException
{
    /// <summary>Creates the exception for the container <paramref name="containerId"/>.</summary>
    public StateFileLockedException(string containerId)
        : base($"container {containerId}: state file locked by another runsc-net process") { }
}

/// <summary>A container with the same ID already exists (LockForNew found its state file).</summary>
public sealed class ContainerExistsException : StateFileException
{
    /// <summary>Creates the exception for the container <paramref name="containerId"/>.</summary>
    public ContainerExistsException(string containerId)
        : base($"container with id {containerId} already exists") { }
}

/// <summary>No container matches the ID (or ID prefix) asked for.</summary>
public sealed class ContainerNotFoundException : StateFileException
{
    /// <summary>Creates the exception for the ID <paramref name="containerId"/>.</summary>
    public ContainerNotFoundException(string containerId)
        : base($"container {containerId} does not exist") { }
}

/// <summary>An ID prefix matches more than one container.</summary>
internal sealed class AmbiguousContainerIdException : StateFileException
{
    /// <summary>Creates the exception for <paramref name="prefix"/> and the IDs it matches.</summary>
    public AmbiguousContainerIdException(string prefix, IEnumerable<string> matches)
        : base($"container id prefix {prefix} is ambiguous: it matches {string.Join(", ", matches)}") { }
}

/// <summary>A container ID that is empty, too long or contains characters that are not allowed.</summary>
public sealed class InvalidContainerIdException : StateFileException
{
    /// <summary>Creates the exception for <paramref name="id"/> with the rule it broke.</summary>
    public InvalidContainerIdException(string id, string reason)
        : base($"invalid container id {Quote(id)}: {reason}") { }

    private static string Quote(string id) => id.Length > 80 ? "\"" + id[..80] + "...\"" : "\"" + id + "\"";
}
