using System.Diagnostics;
using Xunit;

namespace RunscNet.Tests.Integration;

/// <summary>The result of one run of the runsc-net binary.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Fails the test with the output unless the command exited 0.</summary>
    public CommandResult AssertSuccess()
    {
        Assert.True(ExitCode == 0, $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
        return this;
    }

    /// <summary>Asserts a user error: exit 1, exactly one line on stderr, no stack trace.</summary>
    public string AssertOneLineError()
    {
        Assert.True(ExitCode == 1, $"expected exit 1, got {ExitCode}\nstderr: {Stderr}");
        string[] lines = Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{Stderr}");
        Assert.DoesNotContain("   at ", Stderr);
        Assert.DoesNotContain("Exception", Stderr);
        return lines[0];
    }
}

/// <summary>
/// Runs the published runsc-net binary (path in the RUNSC_NET environment variable, which
/// scripts/test.sh sets) with its own --root, so tests do not see each other's containers, and its
/// own --debug-log directory: every command (and every boot process it starts) logs there, and a
/// log line with the Sentry's error marker (a system-call handler threw, a task died of a Sentry
/// error) fails the test, after the command that logged it or at the latest when the instance is
/// disposed.
/// </summary>
public sealed class RunscNetBinary : IDisposable
{
    /// <summary>What the Sentry writes before a handler exception (RunscNet.Sentry.Kernel.DebugLog.SentryErrorMarker).</summary>
    public const string SentryErrorMarker = RunscNet.Sentry.Kernel.DebugLog.SentryErrorMarker;

    /// <summary>The binary, or null when RUNSC_NET is not set.</summary>
    public static string? Path => Environment.GetEnvironmentVariable("RUNSC_NET") is { Length: > 0 } p && File.Exists(p) ? p : null;

    private bool _reported;

    /// <summary>A fresh state root and debug-log directory for this instance.</summary>
    public RunscNetBinary()
    {
        Root = Directory.CreateTempSubdirectory("runsc-net-it-").FullName;
        DebugLogDir = Directory.CreateTempSubdirectory("runsc-net-it-log-").FullName;
    }

    /// <summary>The --root this instance passes.</summary>
    public string Root { get; }

    /// <summary>The --debug-log directory this instance passes (one file per process).</summary>
    public string DebugLogDir { get; }

    /// <summary>
    /// A command the binary runs under, e.g. <c>["prlimit", "--nofile=1024:1024", "--"]</c> (limits
    /// that the gofer and boot inherit from the runtime); empty by default.
    /// </summary>
    public string[] Wrapper { get; set; } = [];

    /// <summary>Runs <c>runsc-net --root ROOT --debug-log DIR/ args...</c> with stdin, stdout and stderr redirected.</summary>
    public CommandResult Run(params string[] args)
    {
        string outFile = System.IO.Path.GetTempFileName(), errFile = System.IO.Path.GetTempFileName();
        CommandResult result;
        try
        {
            result = Exec(GlobalArgs(args), outFile, errFile, TimeSpan.FromMinutes(2), Wrapper);
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
        AssertNoSentryErrors();
        return result;
    }

    /// <summary>
    /// As <see cref="Run"/>, but stdout and stderr go to the given files, which stay (a sandbox
    /// started by the command keeps writing to them), and the command may take <paramref name="timeout"/>.
    /// </summary>
    public CommandResult RunTo(string outFile, string errFile, TimeSpan timeout, params string[] args)
    {
        var result = Exec(GlobalArgs(args), outFile, errFile, timeout, Wrapper);
        AssertNoSentryErrors();
        return result;
    }

    private string[] GlobalArgs(string[] args) => ["--root", Root, "--debug-log", DebugLogDir + "/", .. args];

    /// <summary>
    /// Runs <c>runsc-net args...</c> with stdin from /dev/null and stdout/stderr into files, read
    /// after it exits (a sandbox inherits them and may outlive the command, so pipes would not
    /// end). Waits at most two minutes, then kills it and fails.
    /// </summary>
    public static CommandResult RunWithoutRoot(params string[] args)
    {
        string outFile = System.IO.Path.GetTempFileName(), errFile = System.IO.Path.GetTempFileName();
        try
        {
            return Exec(args, outFile, errFile, TimeSpan.FromMinutes(2));
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
    }

    private static CommandResult Exec(string[] args, string outFile, string errFile, TimeSpan timeout, string[]? wrapper = null)
    {
        var psi = new ProcessStartInfo("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("out=$1; err=$2; shift 2; exec \"$@\" </dev/null >\"$out\" 2>\"$err\"");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(outFile);
        psi.ArgumentList.Add(errFile);
        foreach (string w in wrapper ?? []) psi.ArgumentList.Add(w);
        psi.ArgumentList.Add(Path ?? throw new InvalidOperationException("RUNSC_NET not set"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"runsc-net {string.Join(' ', args)} did not finish within {timeout}");
        }
        return new CommandResult(process.ExitCode, File.ReadAllText(outFile), File.ReadAllText(errFile));
    }

    /// <summary>
    /// The Sentry errors logged in <paramref name="debugLogDir"/>: each marker line with the lines
    /// that follow it (the exception's stack), one string per error.
    /// </summary>
    public static List<string> SentryErrors(string debugLogDir)
    {
        var errors = new List<string>();
        if (!Directory.Exists(debugLogDir)) return errors;
        foreach (string file in Directory.GetFiles(debugLogDir))
        {
            string[] lines;
            try { lines = File.ReadAllLines(file); }
            catch (IOException) { continue; }
            for (int i = 0; i < lines.Length; i++)
            {
                if (!lines[i].Contains(SentryErrorMarker, StringComparison.Ordinal)) continue;
                int end = i + 1;
                while (end < lines.Length && end < i + 40 && lines[end].StartsWith("   ", StringComparison.Ordinal)) end++;
                errors.Add(string.Join('\n', lines[i..end]));
            }
        }
        return errors;
    }

    /// <summary>Fails (once) when a process of this instance logged a Sentry error.</summary>
    public void AssertNoSentryErrors()
    {
        if (_reported) return;
        var errors = SentryErrors(DebugLogDir);
        if (errors.Count == 0) return;
        _reported = true;
        Assert.Fail($"the Sentry logged {errors.Count} error(s) (logs in {DebugLogDir}):\n{string.Join("\n\n", errors.Take(5))}");
    }

    /// <summary>
    /// Deletes every container left under the root, then the root; fails when a Sentry error was
    /// logged (then the debug logs are kept for a look), else deletes them unless
    /// RUNSC_NET_KEEP_LOGS is set (to read the logs of a test that failed an assertion).
    /// </summary>
    public void Dispose()
    {
        if (Path != null)
        {
            foreach (string file in Directory.Exists(Root) ? Directory.GetFiles(Root, "*.state") : [])
            {
                string id = System.IO.Path.GetFileName(file).Split("_sand:")[0];
                RunWithoutRoot("--root", Root, "--debug-log", DebugLogDir + "/", "delete", "--force", id);
            }
        }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        if (_reported || SentryErrors(DebugLogDir).Count > 0)
        {
            AssertNoSentryErrors();
            return;
        }
        if (Environment.GetEnvironmentVariable("RUNSC_NET_KEEP_LOGS") is not { Length: > 0 }) try { Directory.Delete(DebugLogDir, recursive: true); } catch (IOException) { }
    }
}
