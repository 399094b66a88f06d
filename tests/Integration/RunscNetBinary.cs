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
/// scripts/test.sh sets) with its own --root, so tests do not see each other's containers.
/// </summary>
public sealed class RunscNetBinary : IDisposable
{
    /// <summary>The binary, or null when RUNSC_NET is not set.</summary>
    public static string? Path => Environment.GetEnvironmentVariable("RUNSC_NET") is { Length: > 0 } p && File.Exists(p) ? p : null;

    /// <summary>A fresh state root for this instance.</summary>
    public RunscNetBinary()
    {
        Root = Directory.CreateTempSubdirectory("runsc-net-it-").FullName;
    }

    /// <summary>The --root this instance passes.</summary>
    public string Root { get; }

    /// <summary>Runs <c>runsc-net --root ROOT args...</c> with stdin, stdout and stderr redirected.</summary>
    public CommandResult Run(params string[] args) => RunWithoutRoot(["--root", Root, .. args]);

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
            var psi = new ProcessStartInfo("/bin/sh");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("out=$1; err=$2; shift 2; exec \"$@\" </dev/null >\"$out\" 2>\"$err\"");
            psi.ArgumentList.Add("sh");
            psi.ArgumentList.Add(outFile);
            psi.ArgumentList.Add(errFile);
            psi.ArgumentList.Add(Path ?? throw new InvalidOperationException("RUNSC_NET not set"));
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"runsc-net {string.Join(' ', args)} did not finish");
            }
            return new CommandResult(process.ExitCode, File.ReadAllText(outFile), File.ReadAllText(errFile));
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
    }

    /// <summary>Deletes every container left under the root, then the root.</summary>
    public void Dispose()
    {
        if (Path != null)
        {
            foreach (string file in Directory.Exists(Root) ? Directory.GetFiles(Root, "*.state") : [])
            {
                string id = System.IO.Path.GetFileName(file).Split("_sand:")[0];
                RunWithoutRoot("--root", Root, "delete", "--force", id);
            }
        }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
