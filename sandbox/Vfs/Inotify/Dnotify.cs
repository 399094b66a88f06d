using System.Runtime.CompilerServices;
using RunscNet.Sentry.Kernel;

namespace RunscNet.Sentry.Vfs.Inotify;

/// <summary>
/// Directory notification (fcntl(2) F_NOTIFY, "dnotify"): a mark on a directory, per open file
/// description, with DN_* events; each event on the directory or one of its entries that the mark
/// asks for sends the file's signal to its owner (F_SETOWN, made the caller by F_NOTIFY): SIGIO,
/// or the F_SETSIG signal with si_code POLL_MSG, si_band and si_fd. Without DN_MULTISHOT the mark
/// goes after its first signal. Masks given again for the same description add up; a mask with no
/// event removes the mark; a mark goes with its description's last close.
/// </summary>
internal static class Dnotify
{
    /// <summary>The DN_* bits.</summary>
    public const uint DN_ACCESS = 1, DN_MODIFY = 2, DN_CREATE = 4, DN_DELETE = 8, DN_RENAME = 0x10, DN_ATTRIB = 0x20,
        DN_MULTISHOT = 0x80000000;

    private const int POLL_MSG = 3;
    private const long POLLIN = 1, POLLRDNORM = 0x40, POLLMSG = 0x400;

    private sealed class Mark
    {
        public required FileDescription File;
        public int Fd;
        public uint Mask;
    }

    private static readonly ConditionalWeakTable<Inode, List<Mark>> s_marks = new();
    private static int s_count;

    /// <summary>True when some mark exists anywhere.</summary>
    public static bool Any => Volatile.Read(ref s_count) > 0;

    /// <summary>F_NOTIFY on <paramref name="fd"/>: ENOTDIR unless a directory; 0.</summary>
    public static int Set(Task t, int fd, FileDescription file, uint arg)
    {
        if (file.Location is not { } loc || !loc.Inode.IsDirectory) return -Errno.ENOTDIR;
        var list = s_marks.GetOrCreateValue(loc.Inode);
        lock (list)
        {
            int i = list.FindIndex(m => m.File == file);
            if ((arg & ~DN_MULTISHOT) == 0)
            {
                if (i >= 0)
                {
                    list.RemoveAt(i);
                    Interlocked.Decrement(ref s_count);
                }
                return 0;
            }
            FileSignals.SetOwner(t.Kernel, file, FileSignals.F_OWNER_PID, t.ThreadGroup.Tgid);
            if (i >= 0)
            {
                list[i].Fd = fd;
                list[i].Mask |= arg;
                return 0;
            }
            list.Add(new Mark { File = file, Fd = fd, Mask = arg });
            Interlocked.Increment(ref s_count);
        }
        return 0;
    }

    /// <summary>An fsnotify event (inotify mask) on <paramref name="inode"/> or, with a name, on one of its entries.</summary>
    internal static void Event(Inode inode, uint inotifyMask)
    {
        if (!s_marks.TryGetValue(inode, out var list) || Task.Current?.Kernel is not { } kernel) return;
        uint dn = 0;
        if ((inotifyMask & InotifyMask.IN_ACCESS) != 0) dn |= DN_ACCESS;
        if ((inotifyMask & InotifyMask.IN_MODIFY) != 0) dn |= DN_MODIFY;
        if ((inotifyMask & InotifyMask.IN_ATTRIB) != 0) dn |= DN_ATTRIB;
        if ((inotifyMask & (InotifyMask.IN_CREATE | InotifyMask.IN_MOVED_TO)) != 0) dn |= DN_CREATE;
        if ((inotifyMask & (InotifyMask.IN_DELETE | InotifyMask.IN_MOVED_FROM)) != 0) dn |= DN_DELETE;
        if ((inotifyMask & (InotifyMask.IN_MOVED_FROM | InotifyMask.IN_MOVED_TO)) != 0) dn |= DN_RENAME;
        if (dn == 0) return;
        var fire = new List<Mark>();
        lock (list)
        {
            for (int i = list.Count - 1; i >= 0; i--)
            {
                var m = list[i];
                bool gone = m.File.IsReleased;
                if (!gone && (m.Mask & dn) != 0)
                {
                    fire.Add(m);
                    gone = (m.Mask & DN_MULTISHOT) == 0;
                }
                if (gone)
                {
                    list.RemoveAt(i);
                    Interlocked.Decrement(ref s_count);
                }
            }
        }
        foreach (var m in fire) SendSignal(kernel, m);
    }

    private static void SendSignal(Kernel.Kernel kernel, Mark m)
    {
        int signo = FileSignals.Signal(m.File);
        SignalInfo info;
        if (signo == 0) info = SignalInfo.FromKernel(Signal.SIGIO);
        else
        {
            info = new SignalInfo { Signo = signo, Code = POLL_MSG };
            BitConverter.TryWriteBytes(info.Bytes.AsSpan(16), POLLIN | POLLRDNORM | POLLMSG);   // si_band
            BitConverter.TryWriteBytes(info.Bytes.AsSpan(24), m.Fd);                            // si_fd
        }
        foreach (var group in FileSignals.Recipients(kernel, m.File))
            kernel.SendSignalToGroup(group, SignalInfo.FromBytes(info.Bytes), SignalSource.Kernel);
    }
}
