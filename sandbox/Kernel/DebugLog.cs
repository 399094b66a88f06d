namespace RunscNet.Sentry.Kernel;

/// <summary>
/// The boot process's debug log (--debug-log dir): strace lines, unimplemented system calls,
/// handler exceptions. Thread-safe; a null log discards everything.
/// </summary>
public sealed class DebugLog : IDisposable
{
    private readonly TextWriter? _writer;
    private readonly HashSet<(long, string)> _reported = new();

    /// <summary>A log that discards.</summary>
    public static DebugLog Null { get; } = new(null);

    /// <summary>A log writing to <paramref name="writer"/> (null: discard).</summary>
    public DebugLog(TextWriter? writer) => _writer = writer;

    /// <summary>Opens (appends to) <paramref name="path"/>.</summary>
    public static DebugLog ToFile(string path)
    {
        var w = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        return new DebugLog(w);
    }

    /// <summary>True when messages go somewhere.</summary>
    public bool Enabled => _writer != null;

    /// <summary>Writes one line with a timestamp.</summary>
    public void Write(string message)
    {
        if (_writer == null) return;
        lock (this) _writer.WriteLine($"{DateTime.UtcNow:HH:mm:ss.ffffff} {message}");
    }

    /// <summary>Writes <paramref name="message"/> only the first time for (<paramref name="nr"/>, <paramref name="program"/>).</summary>
    public void WriteOnce(long nr, string program, string message)
    {
        if (_writer == null) return;
        lock (_reported)
            if (!_reported.Add((nr, program))) return;
        Write(message);
    }

    /// <inheritdoc/>
    public void Dispose() => _writer?.Dispose();
}
