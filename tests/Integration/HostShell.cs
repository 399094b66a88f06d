using System.Diagnostics;

namespace RunscNet.Tests.Integration;

/// <summary>Runs a host shell script for the caller tests (podman, ctr), with a timeout that kills it.</summary>
public static class HostShell
{
    /// <summary>Runs <paramref name="script"/> with `sh -c`, stdin closed; returns its exit code and output.</summary>
    public static (int Code, string Out, string Err) Sh(string script, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"timed out: {script}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
