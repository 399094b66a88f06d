using System.Diagnostics;
using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using RunscNet.Tests.Integration;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>
/// The real gofer process (the published binary's <c>gofer</c> command) in a fresh mount namespace
/// (<c>unshare -m</c>), driven through a GoferClient: the spec's bind mounts with their options,
/// read-only rootfs, symlinks planted to lead outside, mount-boundary crossings, its confinement
/// (no_new_privs, seccomp, capabilities, uid), and its exit when the socket closes.
/// </summary>
public sealed class GoferProcessIntegrationTests : IDisposable
{
    private const uint S_IFMT = 0xF000, S_IFLNK = 0xA000;
    private readonly string _dir;
    private readonly string _bundle;
    private readonly string _rootfs;
    private readonly string _marker;

    public GoferProcessIntegrationTests()
    {
        _dir = Directory.CreateTempSubdirectory("gofer-it-").FullName;
        _bundle = Path.Combine(_dir, "bundle");
        _rootfs = Path.Combine(_bundle, "rootfs");
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc", "hostname"), "container\n");
        Directory.CreateDirectory(Path.Combine(_dir, "outside"));
        _marker = Path.Combine(_dir, "outside", "marker");
        File.WriteAllText(_marker, "marker");
        Directory.CreateDirectory(Path.Combine(_dir, "rw"));
        Directory.CreateDirectory(Path.Combine(_dir, "ro"));
        File.WriteAllText(Path.Combine(_dir, "ro", "file"), "read only");
        File.CreateSymbolicLink(Path.Combine(_rootfs, "abs"), Path.Combine(_dir, "outside"));
        File.CreateSymbolicLink(Path.Combine(_rootfs, "rel"), "../../outside");
        File.CreateSymbolicLink(Path.Combine(_rootfs, "proc-root"), "/proc/1/root" + _marker);
        File.CreateSymbolicLink(Path.Combine(_rootfs, "planted"), Path.Combine(_dir, "outside")); // a mount destination
        File.CreateSymbolicLink(Path.Combine(_rootfs, "etc", "hosts"), _marker); // a file mount destination
        File.WriteAllText(Path.Combine(_dir, "hosts"), "127.0.0.1 from-the-spec\n");
        File.WriteAllText(Path.Combine(_bundle, "config.json"), $$"""
            {
              "ociVersion": "1.0.2",
              "root": { "path": "rootfs", "readonly": true },
              "mounts": [
                { "destination": "/proc", "type": "proc", "source": "proc" },
                { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs" },
                { "destination": "/data", "type": "bind", "source": "{{_dir}}/rw", "options": ["rbind", "rw"] },
                { "destination": "/ro", "type": "none", "source": "{{_dir}}/ro", "options": ["bind", "ro", "nosuid", "nodev", "noexec"] },
                { "destination": "/planted/sub", "type": "bind", "source": "{{_dir}}/rw", "options": ["bind"] },
                { "destination": "/etc/hosts", "type": "bind", "source": "{{_dir}}/hosts", "options": ["rbind", "ro"] }
              ]
            }
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Starts the gofer on a fresh socketpair; returns the process and the connected client.</summary>
    private (Process Gofer, GoferClient Client) StartGofer(string bundle, params string[] extra)
    {
        (int clientFd, int goferFd) = SocketPairForChild();
        var psi = new ProcessStartInfo("unshare") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-m", "--propagation", "private", RunscNetBinary.Path!, "gofer",
                     "--container-id", "gofer-it", "--bundle", bundle, "--socket-fd", goferFd.ToString() }.Concat(extra))
        {
            psi.ArgumentList.Add(a);
        }
        Process gofer = Process.Start(psi)!;
        FileDescriptor.Close(goferFd);
        return (gofer, new GoferClient(clientFd));
    }

    /// <summary>
    /// A SOCK_SEQPACKET pair whose second fd (only) survives exec, for the child. Other tests'
    /// children started meanwhile may inherit copies; harmless, as the client shuts its end down.
    /// </summary>
    private static unsafe (int, int) SocketPairForChild()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET, 0, fds));
        Assert.Equal(0, Files.FControl(fds[0], 2 /* F_SETFD */, 1 /* FD_CLOEXEC */));
        return (fds[0], fds[1]);
    }

    private static void AssertExitsZero(Process gofer)
    {
        Assert.True(gofer.WaitForExit(TimeSpan.FromMinutes(1)), "the gofer did not exit after the socket closed");
        Assert.True(gofer.ExitCode == 0, $"gofer exit {gofer.ExitCode}: {gofer.StandardError.ReadToEnd()}");
    }

    [IntegrationFact]
    public void ServesTheSpecMountsAndNothingOutside()
    {
        (Process gofer, GoferClient c) = StartGofer(_bundle);
        using (c)
        {
            Assert.Equal(0, c.Attach("/", out ulong root, out _));
            Assert.True(c.IsReadOnly(root)); // root.readonly
            Assert.Equal(0, c.GetDents(root, out List<GoferDirEntry> entries));
            // "tmp" holds the mount point made for "/planted/sub" (its symlink resolved inside the rootfs).
            Assert.Equal(new[] { "abs", "data", "etc", "planted", "proc-root", "rel", "ro", "tmp" }, entries.Select(e => e.Name).Order());
            Assert.Equal(-Errno.ENOENT, c.Walk(root, "proc", out _, out _)); // the Sentry's mounts are not the gofer's
            Assert.Equal(-Errno.EROFS, c.Mkdir(root, "new", 0x1ED, 0, 0, out _, out _));

            Assert.Equal(0, c.Walk(root, "data", out ulong data, out _));
            Assert.False(c.IsReadOnly(data));
            Assert.Equal(0, c.Create(data, "written", OpenFlags.O_WRONLY, 0x1A4, 1000, 1000, out ulong written, out _, out int fd));
            using (var s = GoferHarness.Stream(fd, FileAccess.Write))
            {
                s.Write("via the gofer"u8);
            }
            Assert.Equal("via the gofer", File.ReadAllText(Path.Combine(_dir, "rw", "written")));
            Assert.Equal(1000u, GoferHarness.HostStat(Path.Combine(_dir, "rw", "written")).Uid);

            Assert.Equal(0, c.Walk(root, "ro", out ulong ro, out _));
            Assert.True(c.IsReadOnly(ro));
            Assert.Equal(0, c.Walk(ro, "file", out ulong roFile, out _));
            Assert.Equal(-Errno.EROFS, c.Open(roFile, OpenFlags.O_RDWR, out _));
            Assert.Equal(-Errno.EROFS, c.Unlink(ro, "file", directory: false));
            Assert.Equal(0, c.StatFs(ro, out GoferStatFs roFs));
            Assert.Equal(1 | 2 | 4 | 8, roFs.Flags & 0xF); // ST_RDONLY|ST_NOSUID|ST_NODEV|ST_NOEXEC

            // Crossing a mount boundary: no hard links, no renames (EXDEV).
            Assert.Equal(-Errno.EXDEV, c.Link(data, "hl", roFile, out _));
            Assert.Equal(0, c.Mkdir(data, "d", 0x1ED, 0, 0, out ulong d, out _));
            Assert.Equal(0, c.Walk(root, "planted", out ulong planted, out GoferStat plantedStat));
            Assert.Equal(S_IFLNK, plantedStat.Mode & S_IFMT);

            // The bind on "/planted/sub" went inside the rootfs, not through the symlink to the host.
            string insideTarget = Path.Combine(_rootfs, _dir.TrimStart('/'), "outside", "sub");
            Assert.True(Directory.Exists(insideTarget));
            Assert.Equal(0, c.Attach("/planted/sub", out ulong sub, out _));
            Assert.Equal(0, c.GetDents(sub, out List<GoferDirEntry> subEntries));
            Assert.Contains(subEntries, e => e.Name == "written");
            Assert.Equal(-Errno.EXDEV, c.Rename(sub, "written", d, "moved", 0)); // two mounts of one directory

            // The file bind on "/etc/hosts" (a symlink to the host marker) landed inside the rootfs.
            Assert.Equal(0, c.Attach("/etc/hosts", out ulong hosts, out GoferStat hostsStat));
            Assert.Equal(GoferHarness.HostStat(Path.Combine(_dir, "hosts")).Ino, hostsStat.Ino);
            Assert.True(c.IsReadOnly(hosts));
            Assert.Equal(0, c.Open(hosts, OpenFlags.O_RDONLY, out int hostsFd));
            using (var s = GoferHarness.Stream(hostsFd, FileAccess.Read))
            using (var reader = new StreamReader(s))
            {
                Assert.Equal("127.0.0.1 from-the-spec\n", reader.ReadToEnd());
            }

            foreach (string link in new[] { "abs", "rel", "proc-root" })
            {
                Assert.Equal(0, c.Walk(root, link, out ulong l, out _));
                Assert.Equal(-Errno.ELOOP, c.Open(l, OpenFlags.O_RDONLY, out _));
                Assert.Equal(-Errno.ENOTDIR, c.Walk(l, "marker", out _, out _));
                int r = c.Attach("/" + link + "/marker", out _, out GoferStat reached);
                if (link == "abs")
                {
                    // Resolved inside the rootfs, it is the mount point made for /etc/hosts.
                    Assert.Equal((0, GoferHarness.HostStat(Path.Combine(_dir, "hosts")).Ino), (r, reached.Ino));
                }
                else
                {
                    Assert.Equal(-Errno.ENOENT, r);
                }
            }

            AssertConfined(gofer.Id);
        }
        AssertExitsZero(gofer);
        Assert.Equal("marker", File.ReadAllText(_marker));
        Assert.Equal(new[] { _marker }, Directory.GetFileSystemEntries(Path.Combine(_dir, "outside")));
    }

    /// <summary>no_new_privs and seccomp everywhere, uid 65534, capabilities only on the serving thread, root = the rootfs.</summary>
    private void AssertConfined(int pid)
    {
        string status = File.ReadAllText($"/proc/{pid}/status");
        Assert.Contains("NoNewPrivs:\t1", status);
        Assert.Contains("Seccomp:\t2", status);
        Assert.Contains("Uid:\t65534\t65534\t65534\t65534", status);
        Assert.Contains("CapBnd:\t000000000000001f", status);
        var effective = Directory.GetDirectories($"/proc/{pid}/task")
            .Select(t => File.ReadAllLines(Path.Combine(t, "status")).Single(l => l.StartsWith("CapEff:")).Split('\t')[1])
            .ToList();
        Assert.Equal(1, effective.Count(e => e == "000000000000001f"));
        Assert.All(effective, e => Assert.True(e is "000000000000001f" or "0000000000000000", e));
        string[] mounts = File.ReadAllLines($"/proc/{pid}/mountinfo");
        string rootMount = mounts.Single(m => m.Split(' ')[4] == "/");
        Assert.Equal(_rootfs, rootMount.Split(' ')[3]);
        Assert.Contains("ro", rootMount.Split(' ')[5].Split(','));
        Assert.DoesNotContain(mounts, m => m.Split(' ')[4] == "/proc");
    }

    [IntegrationFact]
    public void MemoryOverlayServesTheRootfsReadOnly()
    {
        string config = Path.Combine(_bundle, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"readonly\": true", "\"readonly\": false"));
        (Process gofer, GoferClient c) = StartGofer(_bundle, "--overlay", "memory");
        using (c)
        {
            Assert.Equal(0, c.Attach("/", out ulong root, out _));
            Assert.True(c.IsReadOnly(root));
            Assert.Equal(-Errno.EROFS, c.Mkdir(root, "new", 0x1ED, 0, 0, out _, out _));
            Assert.Equal(0, c.Walk(root, "etc", out ulong etc, out _));
            Assert.Equal(0, c.Walk(etc, "hostname", out ulong hostname, out _));
            Assert.Equal(-Errno.EROFS, c.Open(hostname, OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, out _));
            Assert.Equal(0, c.Walk(root, "data", out ulong data, out _)); // bind mounts stay writable
            Assert.Equal(0, c.Mkdir(data, "made", 0x1ED, 0, 0, out _, out _));
        }
        AssertExitsZero(gofer);
        Assert.Equal("container\n", File.ReadAllText(Path.Combine(_rootfs, "etc", "hostname")));
        Assert.True(Directory.Exists(Path.Combine(_dir, "rw", "made")));
    }

    [IntegrationFact]
    public void ABadBundleFailsWithOneLine()
    {
        (int clientFd, int goferFd) = SocketPairForChild();
        var psi = new ProcessStartInfo("unshare") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-m", RunscNetBinary.Path!, "gofer", "--container-id", "bad", "--bundle", Path.Combine(_dir, "missing"), "--socket-fd", goferFd.ToString() })
        {
            psi.ArgumentList.Add(a);
        }
        using Process gofer = Process.Start(psi)!;
        FileDescriptor.Close(goferFd);
        Assert.True(gofer.WaitForExit(TimeSpan.FromMinutes(1)));
        string stderr = gofer.StandardError.ReadToEnd();
        Assert.Equal(1, gofer.ExitCode);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("config.json", stderr);
        Assert.DoesNotContain("   at ", stderr);
        // (Not handshaking here: a process other tests start meanwhile may have inherited a copy of
        // the gofer's end, which would keep the socket open. Dead-peer behaviour has unit tests.)
        FileDescriptor.Close(clientFd);
    }
}
