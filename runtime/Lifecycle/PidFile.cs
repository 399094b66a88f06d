namespace RunscNet.Runtime.Lifecycle;

/// <summary>Writes --pid-file atomically (temp file in the same directory, then rename), as conmon expects.</summary>
public static class PidFile
{
    /// <summary>Writes <paramref name="pid"/> (no newline, like runc) to <paramref name="path"/>.</summary>
    public static void Write(string path, int pid)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp" + Environment.ProcessId);
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                file.Write(System.Text.Encoding.ASCII.GetBytes(pid.ToString()));
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw new RuntimeError($"writing pid file {full}: {e.Message}");
        }
    }
}
