using System.Text.Json.Nodes;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>
/// linux.seccomp through the published binary: the profile filters the container's processes
/// (init and exec) as runc's libseccomp filter does — ERRNO with errnoRet or EPERM, KILL_PROCESS
/// by SIGSYS, argument conditions, names unknown on x86-64 skipped, ENOSYS above the highest named
/// call when the default is not permissive — and a profile that cannot be honoured is refused at
/// create, never dropped. The BPF side (seccomp(2) by the application) is SyscallFamilyTests'.
/// </summary>
public sealed class SeccompProfileTests : IDisposable
{
    private readonly RunscNetBinary _runsc = new();
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        _runsc.Dispose();
        foreach (string d in _dirs) Directory.Delete(d, recursive: true);
    }

    private string Bundle(string script, JsonNode profile)
    {
        string b = Bundles.Make("sh", "-c", script);
        _dirs.Add(b);
        string path = Path.Combine(b, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        config["linux"]!["seccomp"] = profile.DeepClone();
        File.WriteAllText(path, config.ToJsonString());
        return b;
    }

    private static JsonNode Rule(string action, string[] names, int? errno = null, JsonArray? args = null)
    {
        var r = new JsonObject { ["names"] = new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()), ["action"] = action };
        if (errno != null) r["errnoRet"] = errno;
        if (args != null) r["args"] = args;
        return r;
    }

    [IntegrationFact(needsRootfs: true)]
    public void ProfileRulesFilterInitAndExecAsRuncDoes()
    {
        var profile = new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ALLOW",
            ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["syscalls"] = new JsonArray(
                Rule("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"], errno: 13),
                Rule("SCMP_ACT_ERRNO", ["chmod", "fchmodat", "fchmodat2", "not_a_call_anywhere"]),
                Rule("SCMP_ACT_KILL_PROCESS", ["sethostname"]),
                // kill(pid, 0) with pid 4242 only: EQ on argument 0 (ESRCH otherwise, as unfiltered).
                Rule("SCMP_ACT_ERRNO", ["kill"], errno: 1, args: new JsonArray(new JsonObject { ["index"] = 0, ["value"] = 4242, ["op"] = "SCMP_CMP_EQ" }))),
        };
        string script = "mkdir /tmp/d 2>/dev/null; echo mkdir=$?; chmod 700 /tmp 2>/dev/null; echo chmod=$?; "
            + "sh -c 'hostname x'; echo hostname=$?; kill -0 4242 2>&1; kill -0 4243 2>&1; "
            + "grep -E '^Seccomp' /proc/self/status";
        string b = Bundle(script, profile);
        string id = "seccomp-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(0, _runsc.Run("create", "--bundle", Bundle("sleep 30", profile), id).ExitCode);
        Assert.Equal(0, _runsc.Run("start", id).ExitCode);
        var exec = _runsc.Run("exec", id, "sh", "-c", "mkdir /tmp/e; echo exec mkdir=$?; grep -E '^Seccomp:' /proc/self/status");
        Assert.Contains("Permission denied", exec.Stderr);
        Assert.Equal("exec mkdir=1\nSeccomp:\t2\n", exec.Stdout);
        _runsc.Run("kill", id, "KILL");
        _runsc.Run("delete", "--force", id);

        var run = _runsc.Run("run", "--bundle", b, id + "r");
        Assert.Equal("mkdir=1\nchmod=1\nhostname=159\n", string.Join('\n', run.Stdout.Split('\n').Take(3)) + "\n");
        Assert.Contains("can't kill pid 4242: Operation not permitted", run.Stdout + run.Stderr);
        Assert.Contains("can't kill pid 4243: No such process", run.Stdout + run.Stderr);
        Assert.Contains("Seccomp:\t2\nSeccomp_filters:\t1\n", run.Stdout);
    }

    [IntegrationFact(needsRootfs: true)]
    public void AllowListProfileGivesErrnoAndEnosysAboveItsHighestCall()
    {
        // The default is an error, as in podman's and Docker's profiles: a call above every named
        // one (here: everything past exit_group, 231) is ENOSYS, so programs fall back as on an
        // older kernel; a named-below, unlisted call gets the default (EPERM).
        var names = new[] { "read", "write", "open", "openat", "close", "fstat", "newfstatat", "stat", "lstat", "mmap", "munmap", "mprotect",
            "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "execve", "exit", "exit_group", "getpid", "getppid",
            "getuid", "geteuid", "getgid", "getegid", "fcntl", "dup2", "wait4", "clone", "fork", "vfork", "arch_prctl", "set_tid_address",
            "uname", "getcwd", "chdir", "access", "pipe", "getdents64", "lseek", "readlink", "prlimit64", "setpgid", "getpgrp", "sigaltstack" };
        var profile = new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ERRNO",
            ["syscalls"] = new JsonArray(Rule("SCMP_ACT_ALLOW", names)),
        };
        // busybox `sync` calls sync (162, below 231: EPERM is ignored by it, so use the exit code
        // of `mkdir`, mkdir is 83: EPERM); `cat /proc/self/status` uses openat (257, allowed).
        string b = Bundle("mkdir /tmp/q 2>&1; grep -E '^Seccomp:' /proc/self/status", profile);
        var run = _runsc.Run("run", "--bundle", b, "seccomp-allow-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Contains("mkdir: can't create directory '/tmp/q': Operation not permitted", run.Stdout);
        Assert.Contains("Seccomp:\t2", run.Stdout);
    }

    [IntegrationTheory(needsRootfs: true)]
    [InlineData("SCMP_ACT_NOTIFY", "seccomp user notification is not supported")]
    [InlineData("SCMP_ACT_WHATEVER", "unknown action SCMP_ACT_WHATEVER")]
    public void ProfilesThatCannotBeHonouredAreRefusedAtCreate(string action, string message)
    {
        var profile = new JsonObject { ["defaultAction"] = "SCMP_ACT_ALLOW", ["syscalls"] = new JsonArray(Rule(action, ["getpid"])) };
        string b = Bundle("true", profile);
        string id = "seccomp-bad-" + Guid.NewGuid().ToString("N")[..8];
        var r = _runsc.Run("create", "--bundle", b, id);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.NotEqual(0, _runsc.Run("state", id).ExitCode);
    }
}
