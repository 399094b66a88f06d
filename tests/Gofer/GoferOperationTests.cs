using System.Net.Sockets;
using RunscNet.Gofer;
using RunscNet.Gofer.Interop;
using Xunit;
using Tmds.Linux;

namespace RunscNet.Tests.Gofer;

/// <summary>Every gofer operation against a temp directory, checked against what the host sees.</summary>
public sealed class GoferOperationTests
{
    private const uint S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFLNK = 0xA000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;

    [Fact]
    public void AttachRootReportsTheDirectory()
    {
        using var h = new GoferHarness();
        Assert.Equal(0, h.Client.Stat(h.RootHandle, out GoferStat st));
        Assert.Equal(S_IFDIR, st.Mode & S_IFMT);
        Assert.Equal(new DirectoryInfo(h.Root).LastWriteTimeUtc, DateTimeOffset.FromUnixTimeSeconds(st.MtimeSec).UtcDateTime.AddTicks(st.MtimeNsec / 100));
        Assert.False(h.Client.IsReadOnly(h.RootHandle));
    }

    [Fact]
    public void AttachWalksAnAbsolutePath()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "a/b"));
        File.WriteAllText(Path.Combine(h.Root, "a/b/f"), "xyz");
        Assert.Equal(0, h.Client.Attach("/a//b/f", out ulong f, out GoferStat st));
        Assert.Equal(3, st.Size);
        Assert.Equal(S_IFREG, st.Mode & S_IFMT);
        h.Client.Release(f);
        Assert.Equal(-Errno.ENOENT, h.Client.Attach("/a/missing", out _, out _));
        Assert.Equal(-Errno.EINVAL, h.Client.Attach("a/b", out _, out _));
        Assert.Equal(-Errno.EINVAL, h.Client.Attach("/a/../..", out _, out _));
        File.CreateSymbolicLink(Path.Combine(h.Root, "a/link"), "/a/b");
        Assert.Equal(0, h.Client.Attach("/a/link/f", out ulong viaLink, out GoferStat linked)); // as mount destinations resolve
        Assert.Equal(st.Ino, linked.Ino);
        h.Client.Release(viaLink);
    }

    [Fact]
    public void WalkAndStatMatchTheHost()
    {
        using var h = new GoferHarness();
        string path = Path.Combine(h.Root, "file");
        File.WriteAllBytes(path, new byte[1234]);
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "file", out ulong f, out GoferStat walked));
        Assert.Equal(0, h.Client.Stat(f, out GoferStat st));
        Assert.Equal(1234, st.Size);
        Assert.Equal(walked.Ino, st.Ino);
        Assert.Equal(1UL, st.Nlink);
        Assert.Equal((uint)GoferHarness.HostStat(path).Mode, st.Mode);
        Assert.Equal(-Errno.ENOENT, h.Client.Walk(h.RootHandle, "missing", out _, out _));
        Assert.Equal(-Errno.ENOTDIR, h.Client.Walk(f, "x", out _, out _));
    }

    [Fact]
    public void OpenDonatesAFdWithTheRequestedAccess()
    {
        using var h = new GoferHarness();
        string path = Path.Combine(h.Root, "data");
        File.WriteAllText(path, "hello");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "data", out ulong f, out _));

        Assert.Equal(0, h.Client.Open(f, OpenFlags.O_RDONLY, out int rfd));
        using (var s = GoferHarness.Stream(rfd, FileAccess.Read))
        using (var reader = new StreamReader(s))
        {
            Assert.Equal("hello", reader.ReadToEnd());
        }

        Assert.Equal(0, h.Client.Open(f, OpenFlags.O_WRONLY | OpenFlags.O_APPEND, out int afd));
        using (var s = GoferHarness.Stream(afd, FileAccess.Write))
        {
            s.Write(" world"u8);
        }
        Assert.Equal("hello world", File.ReadAllText(path));

        Assert.Equal(0, h.Client.Open(f, OpenFlags.O_RDWR | OpenFlags.O_TRUNC, out int tfd));
        FileDescriptor.Close(tfd);
        Assert.Equal(0, new FileInfo(path).Length);

        Assert.Equal(-Errno.EINVAL, h.Client.Open(f, OpenFlags.O_ACCMODE, out _));
    }

    [Fact]
    public void OpenOfDirectoriesDevicesAndSocketsFollowsLinux()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "d"));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "d", out ulong d, out _));
        Assert.Equal(0, h.Client.Open(d, OpenFlags.O_RDONLY, out int dfd));
        Assert.Equal(-1, dfd); // no directory fd leaves the gofer
        Assert.Equal(-Errno.EISDIR, h.Client.Open(d, OpenFlags.O_RDWR, out _));

        Assert.Equal(0, h.Client.Mknod(h.RootHandle, "fifo", S_IFIFO | 0x1B6, 0, 0, 0, out ulong fifo, out _));
        Assert.Equal(0, h.Client.Open(fifo, OpenFlags.O_RDONLY, out int ffd)); // non-blocking: no writer needed
        Assert.True(ffd >= 0);
        FileDescriptor.Close(ffd);

        Assert.Equal(0, h.Client.Mknod(h.RootHandle, "sock", S_IFSOCK | 0x1B6, 0, 0, 0, out ulong sock, out _));
        Assert.Equal(-Errno.ENXIO, h.Client.Open(sock, OpenFlags.O_RDONLY, out _));
    }

    [Fact]
    public void CreateMakesAFileWithExactModeAndOwner()
    {
        using var h = new GoferHarness();
        Assert.Equal(0, h.Client.Create(h.RootHandle, "new", OpenFlags.O_RDWR, 0x1A4 /* 0644 */ | 0x2 /* o+w */, 1234, 5678,
            out ulong f, out GoferStat st, out int fd));
        Assert.Equal(S_IFREG | 0x1A6u, st.Mode); // exact: no umask
        Assert.Equal(1234u, st.Uid);
        Assert.Equal(5678u, st.Gid);
        using (var s = GoferHarness.Stream(fd, FileAccess.ReadWrite))
        {
            s.Write("created"u8);
        }
        Assert.Equal("created", File.ReadAllText(Path.Combine(h.Root, "new")));
        Assert.Equal(0, h.Client.Stat(f, out st));
        Assert.Equal(7, st.Size);
        Assert.Equal(-Errno.EEXIST, h.Client.Create(h.RootHandle, "new", OpenFlags.O_RDWR, 0x1A4, 0, 0, out _, out _, out _));
    }

    [Fact]
    public void MkdirMknodSymlinkAndReadlink()
    {
        using var h = new GoferHarness();
        Assert.Equal(0, h.Client.Mkdir(h.RootHandle, "dir", 0x3E8 /* 01750 */, 10, 20, out ulong d, out GoferStat ds));
        Assert.Equal(S_IFDIR | 0x3E8u, ds.Mode);
        Assert.Equal(10u, ds.Uid);
        Assert.Equal(-Errno.EEXIST, h.Client.Mkdir(h.RootHandle, "dir", 0x1ED, 0, 0, out _, out _));

        Assert.Equal(0, h.Client.Mknod(d, "reg", 0x180, 0, 0, 0, out _, out GoferStat rs));
        Assert.Equal(S_IFREG | 0x180u, rs.Mode);
        Assert.Equal(0, h.Client.Mknod(d, "fifo", S_IFIFO | 0x180, 0, 0, 0, out _, out GoferStat fs));
        Assert.Equal(S_IFIFO | 0x180u, fs.Mode);
        Assert.Equal(-Errno.EPERM, h.Client.Mknod(d, "chr", 0x2000 | 0x180, (1 << 8) | 3, 0, 0, out _, out _));
        Assert.Equal(-Errno.EPERM, h.Client.Mknod(d, "blk", 0x6000 | 0x180, (8 << 8) | 0, 0, 0, out _, out _));
        Assert.False(File.Exists(Path.Combine(h.Root, "dir/chr")));

        Assert.Equal(0, h.Client.Symlink(d, "link", "../some/where", 7, 8, out ulong l, out GoferStat ls));
        Assert.Equal(S_IFLNK, ls.Mode & S_IFMT);
        Assert.Equal(7u, ls.Uid);
        Assert.Equal("../some/where", new FileInfo(Path.Combine(h.Root, "dir/link")).LinkTarget);
        Assert.Equal(0, h.Client.Readlink(l, out string target));
        Assert.Equal("../some/where", target);
        Assert.Equal(-Errno.EINVAL, h.Client.Readlink(d, out _));
        Assert.Equal(-Errno.ENOENT, h.Client.Symlink(d, "empty", "", 0, 0, out _, out _));
    }

    [Fact]
    public void LinkUnlinkAndRmdir()
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "f"), "x");
        Directory.CreateDirectory(Path.Combine(h.Root, "d/sub"));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong f, out _));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "d", out ulong d, out _));
        Assert.Equal(0, h.Client.Link(d, "hard", f, out GoferStat st));
        Assert.Equal(2UL, st.Nlink);
        Assert.Equal("x", File.ReadAllText(Path.Combine(h.Root, "d/hard")));
        Assert.Equal(-Errno.EPERM, h.Client.Link(h.RootHandle, "dirlink", d, out _));

        Assert.Equal(-Errno.EISDIR, h.Client.Unlink(h.RootHandle, "d", directory: false));
        Assert.Equal(-Errno.ENOTEMPTY, h.Client.Unlink(h.RootHandle, "d", directory: true));
        Assert.Equal(-Errno.ENOTDIR, h.Client.Unlink(h.RootHandle, "f", directory: true));
        Assert.Equal(0, h.Client.Unlink(d, "hard", directory: false));
        Assert.Equal(0, h.Client.Unlink(d, "sub", directory: true));
        Assert.Equal(0, h.Client.Unlink(h.RootHandle, "d", directory: true));
        Assert.False(Directory.Exists(Path.Combine(h.Root, "d")));
        Assert.Equal(-Errno.ENOENT, h.Client.Unlink(h.RootHandle, "d", directory: true));
    }

    [Fact]
    public void RenameAcrossDirectoriesWithFlags()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "a"));
        Directory.CreateDirectory(Path.Combine(h.Root, "b"));
        File.WriteAllText(Path.Combine(h.Root, "a/one"), "1");
        File.WriteAllText(Path.Combine(h.Root, "b/two"), "2");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "a", out ulong a, out _));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "b", out ulong b, out _));

        Assert.Equal(-Errno.EEXIST, h.Client.Rename(a, "one", b, "two", Files.RENAME_NOREPLACE));
        Assert.Equal(0, h.Client.Rename(a, "one", b, "two", Files.RENAME_EXCHANGE));
        Assert.Equal("2", File.ReadAllText(Path.Combine(h.Root, "a/one")));
        Assert.Equal("1", File.ReadAllText(Path.Combine(h.Root, "b/two")));
        Assert.Equal(0, h.Client.Rename(a, "one", b, "moved", 0));
        Assert.False(File.Exists(Path.Combine(h.Root, "a/one")));
        Assert.Equal("2", File.ReadAllText(Path.Combine(h.Root, "b/moved")));
        Assert.Equal(-Errno.EINVAL, h.Client.Rename(b, "moved", a, "x", 8));
        Assert.Equal(-Errno.ENOENT, h.Client.Rename(a, "gone", b, "x", 0));
    }

    [Fact]
    public void SetAttrAppliesEachMaskBit()
    {
        using var h = new GoferHarness();
        string path = Path.Combine(h.Root, "f");
        File.WriteAllText(path, "0123456789");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong f, out GoferStat before));

        var attr = new GoferSetAttr { Mask = GoferSetAttr.SetMode | GoferSetAttr.SetSize, Mode = 0x5ED /* 02755 */, Size = 4 };
        Assert.Equal(0, h.Client.SetAttr(f, attr));
        Assert.Equal(0, h.Client.Stat(f, out GoferStat st));
        Assert.Equal(S_IFREG | 0x5EDu, st.Mode);
        Assert.Equal(4, st.Size);
        Assert.Equal("0123", File.ReadAllText(path));

        attr = new GoferSetAttr { Mask = GoferSetAttr.SetUid | GoferSetAttr.SetGid, Uid = 4321, Gid = 8765 };
        Assert.Equal(0, h.Client.SetAttr(f, attr));
        Assert.Equal(0, h.Client.Stat(f, out st));
        Assert.Equal((4321u, 8765u), (st.Uid, st.Gid));

        attr = new GoferSetAttr { Mask = GoferSetAttr.SetAtime | GoferSetAttr.SetMtime, AtimeSec = 1000, AtimeNsec = 5, MtimeSec = 2000, MtimeNsec = 7 };
        Assert.Equal(0, h.Client.SetAttr(f, attr));
        Assert.Equal(0, h.Client.Stat(f, out st));
        Assert.Equal((1000L, 5L, 2000L, 7L), (st.AtimeSec, st.AtimeNsec, st.MtimeSec, st.MtimeNsec));

        attr = new GoferSetAttr { Mask = GoferSetAttr.SetAtime | GoferSetAttr.SetMtime, AtimeNsec = GoferSetAttr.UtimeOmit, MtimeNsec = GoferSetAttr.UtimeNow };
        Assert.Equal(0, h.Client.SetAttr(f, attr));
        Assert.Equal(0, h.Client.Stat(f, out st));
        Assert.Equal(1000L, st.AtimeSec);
        Assert.True(st.MtimeSec > 2000);

        Assert.Equal(-Errno.EINVAL, h.Client.SetAttr(f, new GoferSetAttr { Mask = 64 }));
        Assert.Equal(-Errno.EINVAL, h.Client.SetAttr(f, new GoferSetAttr { Mask = GoferSetAttr.SetSize, Size = -1 }));
        Assert.Equal(-Errno.EISDIR, h.Client.SetAttr(h.RootHandle, new GoferSetAttr { Mask = GoferSetAttr.SetSize }));
        Assert.NotEqual(before.CtimeSec * 1_000_000_000 + before.CtimeNsec, st.CtimeSec * 1_000_000_000 + st.CtimeNsec);
    }

    [Fact]
    public void GetDentsListsLargeDirectoriesInBatches()
    {
        using var h = new GoferHarness();
        Directory.CreateDirectory(Path.Combine(h.Root, "big"));
        var expected = new HashSet<string>();
        for (int i = 0; i < 2500; i++)
        {
            string name = $"entry-{i:D5}-{new string('x', 40)}";
            File.WriteAllText(Path.Combine(h.Root, "big", name), "");
            expected.Add(name);
        }
        Directory.CreateDirectory(Path.Combine(h.Root, "big", "subdir"));
        expected.Add("subdir");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "big", out ulong big, out _));
        Assert.Equal(0, h.Client.GetDents(big, out List<GoferDirEntry> entries));
        Assert.Equal(expected.Count, entries.Count); // no duplicates, no "." or ".."
        Assert.Equal(expected, entries.Select(e => e.Name).ToHashSet());
        GoferDirEntry sub = entries.Single(e => e.Name == "subdir");
        Assert.Equal(4, sub.Type); // DT_DIR
        Assert.Equal(0, h.Client.Walk(big, "subdir", out _, out GoferStat subStat));
        Assert.Equal(subStat.Ino, sub.Ino);
        Assert.Equal(8, entries.First(e => e.Name != "subdir").Type); // DT_REG

        Assert.Equal(0, h.Client.Walk(big, "subdir", out ulong empty, out _));
        Assert.Equal(0, h.Client.GetDents(empty, out entries));
        Assert.Empty(entries);
        Assert.Equal(0, h.Client.Walk(big, expected.First(n => n != "subdir"), out ulong file, out _));
        Assert.Equal(-Errno.ENOTDIR, h.Client.GetDents(file, out _));
    }

    [Fact]
    public void StatFsDescribesTheHostFileSystem()
    {
        using var h = new GoferHarness();
        Assert.Equal(0, h.Client.StatFs(h.RootHandle, out GoferStatFs fs));
        var drive = new DriveInfo(h.Root);
        Assert.True(fs.BlockSize > 0);
        Assert.Equal(drive.TotalSize, (long)fs.Blocks * fs.FragmentSize);
        Assert.Equal(255, fs.NameLength);
        Assert.Equal(0, fs.Flags & 1); // not read-only
    }

    [Fact]
    public void ExtendedAttributesRoundTripInTheUserNamespaceOnly()
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "f"), "");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong f, out _));
        Assert.Equal(0, h.Client.ListXattr(f, out List<string> names));
        Assert.Empty(names);
        Assert.Equal(-Errno.ENODATA, h.Client.GetXattr(f, "user.a", out _));
        Assert.Equal(0, h.Client.SetXattr(f, "user.a", new byte[] { 1, 2, 3 }, 0));
        Assert.Equal(0, h.Client.SetXattr(f, "user.b", new byte[70], Files.XATTR_CREATE));
        Assert.Equal(-Errno.EEXIST, h.Client.SetXattr(f, "user.b", new byte[1], Files.XATTR_CREATE));
        Assert.Equal(-Errno.ENODATA, h.Client.SetXattr(f, "user.c", new byte[1], Files.XATTR_REPLACE));
        Assert.Equal(0, h.Client.GetXattr(f, "user.a", out byte[] value));
        Assert.Equal(new byte[] { 1, 2, 3 }, value);
        Assert.Equal(0, h.Client.ListXattr(f, out names));
        Assert.Equal(new[] { "user.a", "user.b" }, names.Order());
        Assert.Equal(0, h.Client.RemoveXattr(f, "user.a"));
        Assert.Equal(-Errno.ENODATA, h.Client.RemoveXattr(f, "user.a"));
        Assert.Equal(-Errno.EOPNOTSUPP, h.Client.SetXattr(f, "trusted.x", new byte[1], 0));
        Assert.Equal(-Errno.EOPNOTSUPP, h.Client.SetXattr(f, "security.capability", new byte[20], 0));
        Assert.Equal(-Errno.EOPNOTSUPP, h.Client.GetXattr(f, "system.posix_acl_access", out _));
        Assert.Equal(-Errno.E2BIG, h.Client.SetXattr(f, "user.big", new byte[70000], 0));
        Assert.Equal(0, h.Client.SetXattr(h.RootHandle, "user.dir", new byte[] { 9 }, 0));
        Assert.Equal(0, h.Client.GetXattr(h.RootHandle, "user.dir", out value));
        Assert.Equal(new byte[] { 9 }, value);
    }

    [Fact]
    public void FsyncOfFilesAndDirectories()
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "f"), "x");
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong f, out _));
        Assert.Equal(0, h.Client.Fsync(f));
        Assert.Equal(0, h.Client.Fsync(h.RootHandle));
        Assert.Equal(0, h.Client.Mknod(h.RootHandle, "p", S_IFIFO | 0x180, 0, 0, 0, out ulong p, out _));
        Assert.Equal(-Errno.EINVAL, h.Client.Fsync(p));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BindAndConnectHostUnixSockets(bool procFdGiven)
    {
        using var h = new GoferHarness(procFdGiven: procFdGiven);
        string cwd = Directory.GetCurrentDirectory();
        Directory.CreateDirectory(Path.Combine(h.Root, "run"));
        Assert.Equal(0, h.Client.Walk(h.RootHandle, "run", out ulong run, out _));
        Assert.Equal(0, h.Client.BindSocket(run, "app.sock", LibC.SOCK_STREAM, out int bound));
        Assert.Equal(-Errno.EADDRINUSE, h.Client.BindSocket(run, "app.sock", LibC.SOCK_STREAM, out _));
        Assert.Equal(0, h.Client.BindSocket(run, "owned.sock", LibC.SOCK_DGRAM, 1500, 1600, out int owned));
        FileDescriptor.Close(owned);
        Statx ownedStat = GoferHarness.HostStat(Path.Combine(h.Root, "run/owned.sock"));
        Assert.Equal((S_IFSOCK, 1500u, 1600u), (ownedStat.Mode & S_IFMT, ownedStat.Uid, ownedStat.Gid));
        Assert.Equal(-Errno.EINVAL, h.Client.BindSocket(run, "other.sock", 99, out _));
        using var listener = new Socket(new SafeSocketHandle(bound, ownsHandle: true));
        listener.Listen();

        Assert.Equal(0, h.Client.Walk(run, "app.sock", out ulong sockFile, out GoferStat st));
        Assert.Equal(S_IFSOCK, st.Mode & S_IFMT);
        Assert.Equal(0, h.Client.ConnectSocket(sockFile, LibC.SOCK_STREAM, out int connected));
        using var client = new Socket(new SafeSocketHandle(connected, ownsHandle: true));
        Assert.True(client.Blocking);
        using Socket accepted = listener.Accept();
        client.Send("ping"u8);
        byte[] buffer = new byte[4];
        Assert.Equal(4, accepted.Receive(buffer));
        Assert.Equal("ping"u8.ToArray(), buffer);

        File.WriteAllText(Path.Combine(h.Root, "run/plain"), "");
        Assert.Equal(0, h.Client.Walk(run, "plain", out ulong plain, out _));
        Assert.Equal(-Errno.ECONNREFUSED, h.Client.ConnectSocket(plain, LibC.SOCK_STREAM, out _));
        Assert.Equal(cwd, Directory.GetCurrentDirectory()); // bind/connect restored the cwd
    }

    [Fact]
    public void ReleaseGivesHandlesBack()
    {
        using var h = new GoferHarness();
        File.WriteAllText(Path.Combine(h.Root, "f"), "");
        int before = h.ServerHandleCount;
        var handles = new List<ulong>();
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0, h.Client.Walk(h.RootHandle, "f", out ulong f, out _));
            handles.Add(f);
        }
        Assert.Equal(20, handles.Distinct().Count());
        Assert.Equal(before + 20, h.ServerHandleCount);
        foreach (ulong f in handles)
        {
            h.Client.Release(f);
        }
        Assert.Equal(before, h.ServerHandleCount);
        Assert.Equal(-Errno.EBADF, h.Client.Stat(handles[0], out _));
    }

    [Fact]
    public void ManyThreadsShareOneClient()
    {
        using var h = new GoferHarness();
        for (int i = 0; i < 8; i++)
        {
            File.WriteAllBytes(Path.Combine(h.Root, $"f{i}"), new byte[i * 100]);
        }
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            for (int round = 0; round < 200; round++)
            {
                int r = h.Client.Walk(h.RootHandle, $"f{t}", out ulong f, out GoferStat st);
                if (r != 0 || st.Size != t * 100)
                {
                    failures.Add($"thread {t} round {round}: r={r} size={st.Size}");
                }
                if (r == 0)
                {
                    h.Client.Release(f);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(failures);
    }
}
