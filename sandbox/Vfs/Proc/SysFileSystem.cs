using RunscNet.Sentry.Vfs.Tmpfs;

namespace RunscNet.Sentry.Vfs.Proc;

/// <summary>
/// A minimal /sys: the top-level directories and the CPU topology files programs read to size
/// thread pools (devices/system/cpu/{online,possible,present}); mounted read-only.
/// </summary>
internal static class SysFileSystem
{
    /// <summary>Builds a fresh /sys.</summary>
    public static TmpfsFileSystem Create()
    {
        var fs = new TmpfsFileSystem(LinuxMode.S_IFDIR | 0x1ed, typeName: "sysfs");
        var root = fs.RootInode;
        TmpfsInode Dir(TmpfsInode parent, string name)
        {
            var d = new TmpfsInode(fs, LinuxMode.S_IFDIR | 0x1ed, 0, 0);
            parent.AddChild(name, d);
            return d;
        }
        foreach (var n in new[] { "block", "bus", "class", "dev", "firmware", "fs", "kernel", "module", "power" }) Dir(root, n);
        var cpu = Dir(Dir(Dir(root, "devices"), "system"), "cpu");
        string range = Environment.ProcessorCount > 1 ? $"0-{Environment.ProcessorCount - 1}\n" : "0\n";
        foreach (var n in new[] { "online", "possible", "present" })
        {
            var f = new TmpfsInode(fs, LinuxMode.S_IFREG | 0x124, 0, 0);
            cpu.AddChild(n, f);
            WriteAll(f, range);
        }
        for (int i = 0; i < Environment.ProcessorCount; i++) Dir(cpu, "cpu" + i);
        return fs;
    }

    private static unsafe void WriteAll(TmpfsInode f, string text)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes) Interop.HostFiles.pwrite(f.DataFd, p, bytes.Length, 0);
    }
}
