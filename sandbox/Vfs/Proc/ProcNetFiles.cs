namespace RunscNet.Sentry.Vfs.Proc;

internal sealed partial class ProcFileSystem
{
    /// <summary>Where the Sentry reads its own network namespace's /proc/net (the container's sockets are host sockets there).</summary>
    private const string HostNetDirectory = "/proc/thread-self/net";

    /// <summary>
    /// /proc/PID/net (and /proc/net): the files of the sandbox's network namespace as the host
    /// kernel writes them (interfaces, routes, TCP/UDP tables, if_inet6 — which the JVM reads to
    /// decide whether IPv6 is usable). AF_UNIX sockets live in the Sentry, so `unix` lists none.
    /// </summary>
    private Inode NetDirectory(uint uid, uint gid)
        => new ProcDirectory(this,
            () => HostNetEntries("").Select(e => e.Name).Append("unix").Distinct(),
            name => name == "unix"
                ? new ProcFile(this, _ => "Num       RefCount Protocol Flags    Type St Inode Path\n", 0x124, uid, gid)
                : HostNetNode("", name, uid, gid),
            0x16d, uid, gid);

    /// <summary>A file or directory (dev_snmp6, netfilter, stat...) under the host's net directory, or null.</summary>
    private Inode? HostNetNode(string dir, string name, uint uid, uint gid)
    {
        var entry = HostNetEntries(dir).FirstOrDefault(e => e.Name == name);
        if (entry.Name == null) return null;
        string rel = dir.Length == 0 ? name : dir + "/" + name;
        if (!entry.IsDirectory) return new ProcFile(this, _ => ReadHostNetFile(rel), 0x124, uid, gid);
        return new ProcDirectory(this, () => HostNetEntries(rel).Select(e => e.Name),
            child => HostNetNode(rel, child, uid, gid), 0x16d, uid, gid);
    }

    private static List<(string Name, bool IsDirectory)> HostNetEntries(string dir)
    {
        try
        {
            var d = new DirectoryInfo(Path.Combine(HostNetDirectory, dir));
            return d.EnumerateFileSystemInfos().Select(i => (i.Name, (i.Attributes & FileAttributes.Directory) != 0)).ToList();
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    private static string ReadHostNetFile(string relativePath)
    {
        try { return File.ReadAllText(Path.Combine(HostNetDirectory, relativePath)); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
