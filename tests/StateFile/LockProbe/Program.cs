using RunscNet.StateFile;

namespace RunscNet.Tests.LockProbe;

/// <summary>
/// Usage: LockProbe ROOT ID GO_FILE. Waits until GO_FILE exists (so every probe starts together),
/// then races LockForNew for ID. Prints "won" and exits 0 if it created the state, prints
/// "exists" and exits 2 if another probe had.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string root = args[0], id = args[1], goFile = args[2];
        while (!File.Exists(goFile)) Thread.Sleep(1);
        using var state = new global::RunscNet.StateFile.StateFile(root, new FullId(id, id));
        try
        {
            state.LockForNew();
        }
        catch (ContainerExistsException)
        {
            Console.WriteLine("exists");
            return 2;
        }
        state.SaveLocked(new ContainerState { Id = id, SandboxId = id, Pid = Environment.ProcessId });
        Thread.Sleep(20); // hold the lock a moment so the others queue on it
        Console.WriteLine("won");
        return 0;
    }
}
