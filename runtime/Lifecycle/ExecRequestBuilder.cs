using System.Text.Json;
using RunscNet.Sentry.Control;
using RunscNet.StateFile.Oci;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>Turns exec's flags (or its --process file) into the control request, with defaults from the container's spec.</summary>
public static class ExecRequestBuilder
{
    /// <summary>
    /// Builds the Exec request; throws <see cref="RuntimeError"/> for bad flags or a bad process
    /// file. <paramref name="consoleSize"/> is the terminal size a process file asks for.
    /// </summary>
    public static ControlRequest Build(ExecOptions options, Spec? containerSpec, out Box? consoleSize)
    {
        var request = new ControlRequest { Operation = ControlOperation.Exec, Terminal = options.Tty };
        consoleSize = null;
        if (options.ProcessFile != null)
        {
            Process process;
            try
            {
                process = JsonSerializer.Deserialize(File.ReadAllBytes(options.ProcessFile), OciJsonContext.Default.Process)
                    ?? throw new RuntimeError($"{options.ProcessFile}: empty process file");
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
                throw new RuntimeError($"reading process file {options.ProcessFile}: {e.Message}");
            }
            if (process.Args is not { Count: > 0 }) throw new RuntimeError($"{options.ProcessFile}: args is empty");
            request.Terminal = process.Terminal || options.Tty;
            consoleSize = process.ConsoleSize;
            request.Args = process.Args;
            request.Env = process.Env ?? [];
            request.Cwd = process.Cwd;
            request.Uid = process.User.Uid;
            request.Gid = process.User.Gid;
            request.AdditionalGids = (process.User.AdditionalGids ?? []).Select(g => g.ToString()).ToList();
            return request;
        }
        if (options.Args.Count == 0) throw new RuntimeError("exec: no command given");
        request.Args = options.Args;
        var env = new List<string>(containerSpec?.Process?.Env ?? []);
        foreach (string e in options.Env)
        {
            if (!e.Contains('=')) throw new RuntimeError($"exec: --env {e} is not NAME=VALUE");
            string name = e[..e.IndexOf('=')];
            env.RemoveAll(x => x.StartsWith(name + "=", StringComparison.Ordinal));
            env.Add(e);
        }
        request.Env = env;
        request.Cwd = options.Cwd ?? containerSpec?.Process?.Cwd ?? "/";
        request.Uid = containerSpec?.Process?.User.Uid ?? 0;
        request.Gid = containerSpec?.Process?.User.Gid ?? 0;
        if (options.User != null)
        {
            string[] parts = options.User.Split(':');
            if (!uint.TryParse(parts[0], out uint uid) || (parts.Length > 1 && !uint.TryParse(parts[1], out _)) || parts.Length > 2)
                throw new RuntimeError($"exec: --user {options.User} must be UID[:GID] (numbers)");
            request.Uid = uid;
            request.Gid = parts.Length > 1 ? uint.Parse(parts[1]) : uid == 0 ? 0 : request.Gid;
        }
        foreach (string g in options.AdditionalGids)
        {
            if (!uint.TryParse(g, out uint gid)) throw new RuntimeError($"exec: --additional-gids {g} is not a number");
            request.AdditionalGids.Add(gid.ToString());
        }
        return request;
    }
}
