namespace RunscNet.StateFile;

/// <summary>
/// Queries over a root directory of state files: which containers and sandboxes exist, and which
/// container an ID or ID prefix names.
/// </summary>
public static class StateDirectory
{
    /// <summary>Every container with a state file under <paramref name="rootDir"/>, ordered by container ID.</summary>
    public static List<FullId> ListContainers(string rootDir) => ListStems(rootDir, ".state");

    /// <summary>Every sandbox ID that has at least one container under <paramref name="rootDir"/>.</summary>
    public static List<string> ListSandboxes(string rootDir)
        => ListContainers(rootDir).Select(id => id.SandboxId).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Every container of sandbox <paramref name="sandboxId"/>.</summary>
    public static List<FullId> ListSandboxContainers(string rootDir, string sandboxId)
        => ListContainers(rootDir).Where(id => id.SandboxId == sandboxId).ToList();

    /// <summary>
    /// Containers that have a lock file but no state file: left by a create that died before its
    /// first save. delete --force cleans them.
    /// </summary>
    public static List<FullId> ListOrphanLocks(string rootDir)
    {
        var withState = ListContainers(rootDir).ToHashSet();
        return ListStems(rootDir, ".lock").Where(id => !withState.Contains(id)).ToList();
    }

    /// <summary>
    /// Finds the container <paramref name="id"/> names: an exact container ID first, else (unless
    /// <paramref name="exact"/>) the one container whose ID starts with it.
    /// </summary>
    /// <exception cref="InvalidContainerIdException">The ID breaks the ID rule.</exception>
    /// <exception cref="ContainerNotFoundException">Nothing matches.</exception>
    /// <exception cref="AmbiguousContainerIdException">The prefix matches several containers.</exception>
    public static FullId Find(string rootDir, string id, bool exact = false, bool includeOrphanLocks = false)
    {
        ContainerId.Validate(id);
        var all = ListContainers(rootDir);
        if (includeOrphanLocks) all.AddRange(ListOrphanLocks(rootDir));
        var exactMatches = all.Where(f => f.ContainerId == id).ToList();
        if (exactMatches.Count == 1) return exactMatches[0];
        if (exactMatches.Count > 1)
            throw new AmbiguousContainerIdException(id, exactMatches.Select(f => f.ToString()));
        if (!exact)
        {
            var prefixed = all.Where(f => f.ContainerId.StartsWith(id, StringComparison.Ordinal)).ToList();
            if (prefixed.Count == 1) return prefixed[0];
            if (prefixed.Count > 1)
                throw new AmbiguousContainerIdException(id, prefixed.Select(f => f.ContainerId).Distinct());
        }
        throw new ContainerNotFoundException(id);
    }

    private static List<FullId> ListStems(string rootDir, string suffix)
    {
        var result = new List<FullId>();
        if (!Directory.Exists(rootDir)) return result;
        foreach (string path in Directory.EnumerateFiles(rootDir, "*" + suffix))
        {
            string name = Path.GetFileName(path);
            if (!name.EndsWith(suffix, StringComparison.Ordinal)) continue;
            if (FullId.TryParseStem(name[..^suffix.Length]) is FullId id) result.Add(id);
        }
        result.Sort((a, b) => string.CompareOrdinal(a.ContainerId, b.ContainerId));
        return result;
    }
}
