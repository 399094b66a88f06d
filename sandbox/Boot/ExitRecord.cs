using RunscNet.Sentry.Kernel;
using RunscNet.StateFile;

namespace RunscNet.Sentry.Boot;

/// <summary>
/// Records init's wait status in the container's state file when the sandbox ends by itself, so
/// `wait` and `state` after the fact can tell how it ended (nobody else is left to ask: the
/// caller that started the container may be gone). Best effort: a state file that is locked for
/// long (a `delete` in progress) or already gone is left alone.
/// </summary>
internal static class ExitRecord
{
    /// <summary>Writes <paramref name="status"/> as the exit status of container <paramref name="id"/> under <paramref name="rootDir"/>.</summary>
    public static void Save(string rootDir, string id, int status, DebugLog log)
    {
        if (rootDir.Length == 0 || id.Length == 0) return;
        try
        {
            using var stateFile = new StateFile.StateFile(rootDir, new FullId(id, id));
            if (!stateFile.Exists) return;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);
            while (true)
            {
                try
                {
                    stateFile.Lock(LockMode.TryLock);
                    break;
                }
                catch (StateFileLockedException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(10);
                }
            }
            var state = stateFile.Read();
            if (state.ExitStatus != null) return;
            state.ExitStatus = status;
            stateFile.SaveLocked(state);
        }
        catch (Exception e) when (e is StateFileException or IOException or UnauthorizedAccessException or ContainerNotFoundException)
        {
            log.Write($"boot: exit status not recorded: {e.Message}");
        }
    }
}
