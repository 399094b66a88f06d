using System.Diagnostics;
using System.Text.Json;
using RunscNet.Runtime.Logging;
using RunscNet.StateFile.Oci;
using Process = System.Diagnostics.Process;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Runs the spec's lifecycle hooks as the OCI runtime spec says: each hook's path with its args and
/// env, the container's state JSON on stdin, killed after its timeout. The sandbox has its own
/// kernel, so every hook (createContainer and startContainer too) runs in the runtime's namespaces.
/// </summary>
public static class HookRunner
{
    /// <summary>
    /// Runs <paramref name="hooks"/> of phase <paramref name="phase"/> in order. The first failure
    /// throws <see cref="RuntimeError"/> naming the hook, unless <paramref name="warnOnly"/> (poststart,
    /// poststop), where failures are logged and the rest still run.
    /// </summary>
    public static void Run(string phase, IReadOnlyList<Hook>? hooks, OciState state, bool warnOnly = false)
    {
        if (hooks is not { Count: > 0 }) return;
        byte[] stateJson = JsonSerializer.SerializeToUtf8Bytes(state, OciStateJsonContext.Default.OciState);
        foreach (Hook hook in hooks)
        {
            try
            {
                RunOne(phase, hook, stateJson);
            }
            catch (RuntimeError e) when (warnOnly)
            {
                RuntimeLog.Warning(e.Message);
            }
        }
    }

    private static void RunOne(string phase, Hook hook, byte[] stateJson)
    {
        if (!Path.IsPathRooted(hook.Path)) throw new RuntimeError($"{phase} hook {hook.Path}: path must be absolute");
        var psi = new ProcessStartInfo(hook.Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // args[0] is argv[0] by the spec; ProcessStartInfo always passes the path as argv[0].
        foreach (string arg in (hook.Args ?? []).Skip(1)) psi.ArgumentList.Add(arg);
        psi.Environment.Clear();
        foreach (string e in hook.Env ?? [])
        {
            int eq = e.IndexOf('=');
            if (eq > 0) psi.Environment[e[..eq]] = e[(eq + 1)..];
        }
        RuntimeLog.Debug($"{phase} hook: {hook.Path} {string.Join(' ', hook.Args ?? [])}");
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new RuntimeError($"{phase} hook {hook.Path} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RuntimeError($"{phase} hook {hook.Path}: {e.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                process.StandardInput.BaseStream.Write(stateJson);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // A hook that does not read its stdin is fine.
            }
            TimeSpan limit = hook.Timeout is int seconds && seconds > 0 ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan;
            if (!process.WaitForExit(limit))
            {
                process.Kill(entireProcessTree: true);
                throw new RuntimeError($"{phase} hook {hook.Path} timed out after {hook.Timeout} s");
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                string detail = stderr.Result.Trim().Split('\n').LastOrDefault() ?? "";
                throw new RuntimeError($"{phase} hook {hook.Path} exited with status {process.ExitCode}{(detail.Length > 0 ? ": " + detail : "")}");
            }
            RuntimeLog.Debug($"{phase} hook {hook.Path} output: {stdout.Result.Trim()}");
        }
    }
}
