namespace RunscNet.Sentry.Kernel;

/// <summary>
/// The boot process's debug log (--debug-log dir): strace lines, unimplemented system calls,
/// handler exceptions. Thread-safe; a null log discards everything.
/// </summary>
internal sealed class DebugLog : IDisposable
{
    private readonly TextWriter? _writer;
    private readonly Action<string>? _sink;
    private readonly HashSet<(long, string)> _reported = new();

    /// <summary>
    /// Starts the line of every exception a system-call handler threw (and of every task killed by a
    /// Sentry error). Tests fail when a boot log contains it: a handler exception is a Sentry bug
    /// (it should have returned an errno), never an answer.
    /// </summary>
    public const string SentryErrorMarker = "SENTRY-ERROR:";

    /// <summary>A log that discards.</summary>
    public static DebugLog Null { get; } = new((TextWriter?)null);

    /// <summary>A log writing to <paramref name="writer"/> (null: discard).</summary>
    public DebugLog(TextWriter? writer) => _writer = writer;

    /// <summary>A log handing each line to <paramref name="sink"/> (the boot process's debug log).</summary>
    public DebugLog(Action<string> sink) => _sink = sink;

    /// <summary>Opens (appends to) <paramref name="path"/>.</summary>
    public static DebugLog ToFile(string path)
    {
        var w = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        return new DebugLog(w);
    }

    /// <summary>True when messages go somewhere.</summary>
    public bool Enabled => _writer != null || _sink != null;

    /// <summary>Writes one line with a timestamp.</summary>
    public void Write(string message)
    {
        if (_sink != null)
        {
            _sink(message);
            return;
        }
        if (_writer == null) return;
        lock (this) _writer.WriteLine($"{DateTime.UtcNow:HH:mm:ss.ffffff} {message}");
    }

    /// <summary>Writes <paramref name="message"/> only the first time for (<paramref name="nr"/>, <paramref name="program"/>).</summary>
    public void WriteOnce(long nr, string program, string message)
    {
        if (!Enabled) return;
        lock (_reported)
            if (!_reported.Add((nr, program))) return;
        Write(message);
    }

    /// <inheritdoc/>
    public void Dispose() => _writer?.Dispose();
}
