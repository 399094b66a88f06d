using RunscNet.StateFile;
using Xunit;
using SF = RunscNet.StateFile.StateFile;

namespace RunscNet.Tests.StateFile;

public sealed class StateFileTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private SF Open(string cid, string? sid = null) => new(_root.Path, new FullId(sid ?? cid, cid));

    private static ContainerState NewState(string id, ContainerStatus status = ContainerStatus.Creating)
        => new() { Id = id, SandboxId = id, Bundle = "/b", Status = status, Pid = 1234, PidStartTime = 99 };

    [Fact]
    public void FilesAreNamedAfterContainerAndSandbox()
    {
        using var sf = Open("abc", "sbx");
        sf.LockForNew();
        sf.SaveLocked(NewState("abc"));
        Assert.True(File.Exists(Path.Combine(_root.Path, "abc_sand:sbx.state")));
        Assert.True(File.Exists(Path.Combine(_root.Path, "abc_sand:sbx.lock")));
        Assert.Equal(Path.Combine(_root.Path, "abc_sand:sbx.state"), sf.StatePath);
    }

    [Fact]
    public void SaveThenReadRoundTrips()
    {
        using var sf = Open("c1");
        sf.LockForNew();
        var state = NewState("c1", ContainerStatus.Created);
        state.Annotations = new() { ["k"] = "v" };
        state.CreatedAt = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        sf.SaveLocked(state);
        var read = Open("c1").Read();
        Assert.Equal("c1", read.Id);
        Assert.Equal(ContainerStatus.Created, read.Status);
        Assert.Equal(1234, read.Pid);
        Assert.Equal(99UL, read.PidStartTime);
        Assert.Equal("v", read.Annotations!["k"]);
        Assert.Equal(state.CreatedAt, read.CreatedAt);
        Assert.Contains("\"status\":\"created\"", File.ReadAllText(sf.StatePath));
    }

    [Fact]
    public void LockForNewRefusesAnExistingId()
    {
        using (var first = Open("dup"))
        {
            first.LockForNew();
            first.SaveLocked(NewState("dup"));
        }
        using var second = Open("dup");
        Assert.Throws<ContainerExistsException>(second.LockForNew);
        Assert.False(second.IsLocked);
    }

    [Fact]
    public void LockForNewRefusesTheSameContainerIdInAnotherSandbox()
    {
        using (var first = Open("dup", "sandbox-a"))
        {
            first.LockForNew();
            first.SaveLocked(NewState("dup"));
        }
        using var second = Open("dup", "sandbox-b");
        Assert.Throws<ContainerExistsException>(second.LockForNew);
    }

    [Fact]
    public void TryLockFailsFastWithItsOwnError()
    {
        using var holder = Open("busy");
        holder.LockForNew();
        using var other = Open("busy");
        var e = Assert.Throws<StateFileLockedException>(() => other.Lock(LockMode.TryLock));
        Assert.Contains("busy", e.Message);
        holder.Unlock();
        other.Lock(LockMode.TryLock);
        Assert.True(other.IsLocked);
    }

    [Fact]
    public void SaveRequiresTheLock()
    {
        using var sf = Open("nolock");
        Assert.Throws<InvalidOperationException>(() => sf.SaveLocked(NewState("nolock")));
    }

    [Fact]
    public void SaveLeavesNoTempFileAndIgnoresAStaleOne()
    {
        using var sf = Open("atomic");
        sf.LockForNew();
        sf.SaveLocked(NewState("atomic", ContainerStatus.Created));
        Assert.Empty(Directory.GetFiles(_root.Path, "*.tmp"));
        // A writer that crashed mid-write leaves a torn temp file; the state stays whole.
        File.WriteAllText(sf.StatePath + ".tmp", "{\"id\":\"atom");
        Assert.Equal(ContainerStatus.Created, sf.Read().Status);
        sf.SaveLocked(NewState("atomic", ContainerStatus.Running));
        Assert.Equal(ContainerStatus.Running, sf.Read().Status);
        Assert.Empty(Directory.GetFiles(_root.Path, "*.tmp"));
    }

    [Fact]
    public void CorruptStateIsAClearError()
    {
        using var sf = Open("bad");
        sf.LockForNew();
        sf.SaveLocked(NewState("bad"));
        File.WriteAllText(sf.StatePath, "{not json");
        var e = Assert.Throws<StateFileException>(sf.Read);
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void DestroyRemovesEveryFile()
    {
        using var sf = Open("gone");
        sf.LockForNew();
        sf.SaveLocked(NewState("gone"));
        File.WriteAllText(sf.StatePath + ".tmp", "x");
        sf.Destroy();
        sf.Unlock();
        Assert.Empty(Directory.GetFiles(_root.Path));
        Assert.Throws<ContainerNotFoundException>(sf.Read);
    }

    [Fact]
    public async System.Threading.Tasks.Task AWaiterOnADestroyedLockRelocksTheLiveFile()
    {
        var a = Open("race");
        a.LockForNew();
        a.SaveLocked(NewState("race"));
        using var b = Open("race");
        var waiting = System.Threading.Tasks.Task.Run(() => b.Lock(LockMode.Wait));
        // Let b open the lock file and block on it (harmless if it has not got there yet).
        Thread.Sleep(100);
        a.Destroy();
        a.Unlock();
        await waiting;
        Assert.True(b.IsLocked);
        Assert.False(b.Exists);
        // b's lock must be on the lock file now at the path, where every other process looks.
        using var c = Open("race");
        Assert.Throws<StateFileLockedException>(() => c.Lock(LockMode.TryLock));
    }

    [Fact]
    public void ConcurrentLockForNewFromSeveralProcessesHasExactlyOneWinner()
    {
        string probe = Path.Combine(AppContext.BaseDirectory, "LockProbe.dll");
        Assert.True(File.Exists(probe), $"{probe} missing");
        string go = Path.Combine(_root.Path, "go");
        string stateRoot = Path.Combine(_root.Path, "root");
        var processes = new List<System.Diagnostics.Process>();
        for (int i = 0; i < 8; i++)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
            foreach (string arg in new[] { "exec", probe, stateRoot, "same-id", go }) psi.ArgumentList.Add(arg);
            processes.Add(System.Diagnostics.Process.Start(psi)!);
        }
        File.WriteAllText(go, "");
        var outputs = new List<string>();
        foreach (var p in processes)
        {
            outputs.Add(p.StandardOutput.ReadToEnd().Trim());
            p.WaitForExit();
        }
        Assert.Equal(1, outputs.Count(o => o == "won"));
        Assert.Equal(7, outputs.Count(o => o == "exists"));
        Assert.Single(StateDirectory.ListContainers(stateRoot));
    }
}
