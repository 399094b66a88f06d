namespace RunscNet.Sentry.Vfs.Proc;

public sealed partial class ProcFileSystem
{
    /// <summary>Where the Sentry reads its own network namespace's /proc/net (the container's sockets are host sockets there).</summary>
    private const string HostNetDirectory = "/proc/thread-self/net";

    /// <summary>
    /// /proc/PID/net (and /proc/net): the files of the sandbox's network namespace as the host
    /// kernel writes them (interfaces, routes, TCP/UDP tables, if_inet6 — which the JVM reads to
    /// decide whether IPv6 is usable). AF_UNIX sockets live in the Sentry, so `unix` lists none.
    /// </summary>
    private Inode NetDirectory(uint uid, uint gid)
    {
        Inode HostFile(string name) => new ProcFile(this, _ => ReadHostNetFile(name), 0x124, uid, gid);
        return new ProcDirectory(this,
            () => HostNetFileNames().Append("unix").Distinct(),
            name => name == "unix"
                ? new ProcFile(this, _ => "Num       RefCount Protocol Flags    Type St Inode Path\n", 0x124, uid, gid)
                : HostNetFileNames().Contains(name) ? HostFile(name) : null,
            0x16d, uid, gid);
    }

    private static IEnumerable<string> HostNetFileNames()
    {
        try
        {
            return Directory.EnumerateFiles(HostNetDirectory).Select(Path.GetFileName).OfType<string>().ToList();
        }
        catch (IOException) { return Array.Empty<string>(); }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    private static string ReadHostNetFile(string name)
    {
        try { return File.ReadAllText(Path.Combine(HostNetDirectory, name)); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
