using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// The state letter of /proc/PID/stat as Linux shows it: R for a process running user code or at
/// work in the kernel, S for one asleep in a wait. (Tools such as ps and the probes' own
/// "wait until the child sleeps" read it; a process still setting up in the Sentry used to read S.)
/// </summary>
public sealed class ProcStateTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _bundles = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string b in _bundles) Directory.Delete(b, recursive: true);
    }

    // A shell loop runs in user code; cat copying /dev/zero spends its time in system calls (in
    // the Sentry, never asleep); sleep waits; a process reading its own stat is running.
    private const string Script =
        "while :; do :; done & loop=$!; cat /dev/zero > /dev/null & copy=$!; sleep 60 & asleep=$!; sleep 1; " +
        "for i in 1 2 3 4 5; do for p in $loop $copy $asleep; do set -- $(cat /proc/$p/stat); printf %s $3; done; echo; done; " +
        "set -- $(cat /proc/self/stat); echo $3; kill $loop $copy $asleep; true";

    [IntegrationFact(needsRootfs: true)]
    public void RunningAndSleepingProcessesReadAsOnLinux()
    {
        string bundle = Bundles.Make("sh", "-c", Script);
        _bundles.Add(bundle);
        var r = _runsc.Run("run", "--bundle", bundle, "procstate").AssertSuccess();
        Assert.Equal(string.Concat(Enumerable.Repeat("RRS\n", 5)) + "R\n", r.Stdout);
    }
}
