using RunscNet.StateFile;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using RunscNet.Runtime.Cli;

namespace RunscNet.Runtime.Logging;

/// <summary>Severity of a log line.</summary>
public enum LogLevel
{
    /// <summary>Details for --debug.</summary>
    Debug,
    /// <summary>Normal events.</summary>
    Info,
    /// <summary>Something odd that did not stop the command.</summary>
    Warning,
    /// <summary>The command failed.</summary>
    Error,
}

/// <summary>
/// The process's log, as runc does it: errors always reach stderr as one line; with --log they are
/// also appended to that file in --log-format (text or the JSON containerd parses); --debug adds
/// debug lines; --debug-log DIR writes this process's debug log to its own file in DIR.
/// </summary>
public static class RuntimeLog
{
    private static readonly object Gate = new();
    private static GlobalOptions _options = new();
    private static string _command = "runsc-net";
    private static StreamWriter? _logFile;
    private static StreamWriter? _debugFile;

    /// <summary>Path of this process's --debug-log file, if one was opened.</summary>
    public static string? DebugLogPath { get; private set; }

    /// <summary>Sets up the log for <paramref name="command"/> from the global flags. Never throws.</summary>
    public static void Configure(GlobalOptions options, string command)
    {
        _options = options;
        _command = command;
        try
        {
            if (options.LogFile != null) _logFile = OpenAppend(options.LogFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RawStdio.Error.WriteLine($"runsc-net: cannot open log file {options.LogFile}: {e.Message}");
        }
        try
        {
            if (options.DebugLog != null)
            {
                DebugLogPath = DebugLogFileName(options.DebugLog, command, Environment.ProcessId, DateTime.UtcNow);
                _debugFile = OpenAppend(DebugLogPath);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RawStdio.Error.WriteLine($"runsc-net: cannot open debug log {options.DebugLog}: {e.Message}");
        }
    }

    /// <summary>
    /// The file of one process's debug log: a directory (existing, or given with a trailing '/')
    /// gets <c>runsc-net.YYYYMMDD-HHMMSS.ffffff.PID.COMMAND.log</c>; otherwise the path is a file
    /// name in which %PID% and %COMMAND% are replaced.
    /// </summary>
    public static string DebugLogFileName(string debugLog, string command, int pid, DateTime now)
    {
        if (debugLog.EndsWith('/') || Directory.Exists(debugLog))
        {
            Directory.CreateDirectory(debugLog);
            return Path.Combine(debugLog, $"runsc-net.{now:yyyyMMdd-HHmmss.ffffff}.{pid}.{command}.log");
        }
        return debugLog.Replace("%PID%", pid.ToString()).Replace("%COMMAND%", command);
    }

    /// <summary>True when debug lines are written anywhere.</summary>
    public static bool DebugEnabled => _options.Debug || _debugFile != null;

    /// <summary>Logs a debug line (only with --debug or --debug-log).</summary>
    public static void Debug(string message) => Write(LogLevel.Debug, message);

    /// <summary>Logs an informational line to the log files.</summary>
    public static void Info(string message) => Write(LogLevel.Info, message);

    /// <summary>Logs a warning: to the log files, and to stderr when there is no --log.</summary>
    public static void Warning(string message) => Write(LogLevel.Warning, message);

    /// <summary>Reports the command's failure: one line on stderr, and the log files.</summary>
    public static void Error(string message) => Write(LogLevel.Error, message);

    /// <summary>Formats one line in <paramref name="format"/> (no trailing newline).</summary>
    public static string Format(LogFormat format, LogLevel level, string message, DateTime time)
    {
        string levelName = level switch
        {
            LogLevel.Debug => "debug",
            LogLevel.Info => "info",
            LogLevel.Warning => "warning",
            _ => "error",
        };
        string timestamp = time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        if (format == LogFormat.Json)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                json.WriteString("level", levelName);
                json.WriteString("msg", message);
                json.WriteString("time", timestamp);
                json.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        return $"time=\"{timestamp}\" level={levelName} msg=\"{EscapeText(message)}\"";
    }

    private static void Write(LogLevel level, string message)
    {
        if (level == LogLevel.Debug && !DebugEnabled) return;
        DateTime now = DateTime.UtcNow;
        lock (Gate)
        {
            try
            {
                if (_logFile != null && (level != LogLevel.Debug || _options.Debug))
                {
                    _logFile.WriteLine(Format(_options.LogFormat, level, message, now));
                    _logFile.Flush();
                }
                if (_debugFile != null)
                {
                    _debugFile.WriteLine($"{now:HH:mm:ss.ffffff} {Environment.ProcessId} {_command} {level.ToString().ToLowerInvariant()}: {message}");
                    _debugFile.Flush();
                }
            }
            catch (IOException)
            {
                // A full disk must not turn a clear error into a crash.
            }
            if (level == LogLevel.Error || (level == LogLevel.Warning && _logFile == null)
                || (level == LogLevel.Debug && _options.Debug && _logFile == null && _debugFile == null))
            {
                string line = _options.LogFormat == LogFormat.Json && _logFile == null
                    ? Format(LogFormat.Json, level, message, now)
                    : $"runsc-net: {(level == LogLevel.Error ? "" : level.ToString().ToLowerInvariant() + ": ")}{message}";
                RawStdio.Error.WriteLine(line);
            }
        }
    }

    private static string EscapeText(string message) => message.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static StreamWriter OpenAppend(string path)
    {
        // The sandbox process gets its log files open (it may not open them itself): /proc/self/fd/N.
        if (path.StartsWith("/proc/self/fd/", StringComparison.Ordinal) && int.TryParse(path["/proc/self/fd/".Length..], out int fd) && fd > 2)
        {
            var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
            return new StreamWriter(new FileStream(handle, FileAccess.Write), new UTF8Encoding(false));
        }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        return new StreamWriter(stream, new UTF8Encoding(false));
    }
}
