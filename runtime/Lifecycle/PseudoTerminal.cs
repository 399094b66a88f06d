using System.Runtime.InteropServices;
using System.Text;
using RunscNet.Runtime.Interop;
using RunscNet.StateFile.Oci;
using Tmds.Linux;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// The container's terminal when <c>process.terminal</c> is true: a pty pair whose master goes to the
/// caller over --console-socket (runc's protocol: one message, the pty's name as data, the master
/// fd as SCM_RIGHTS) and whose slave the sandbox gives to the container's init.
/// </summary>
public sealed class PseudoTerminal : IDisposable
{
    private readonly FileDescriptor _master, _slave;

    private PseudoTerminal(FileDescriptor master, FileDescriptor slave, string name)
    {
        _master = master;
        _slave = slave;
        Name = name;
    }

    /// <summary>The master fd (ours until sent), or -1.</summary>
    public int Master => _master.Number;

    /// <summary>The slave fd (close-on-exec; handed to boot).</summary>
    public int Slave => _slave.Number;

    /// <summary>Path of the slave device (/dev/pts/N).</summary>
    public string Name { get; }

    /// <summary>Opens a new pty pair with the window size of <paramref name="size"/> (if given).</summary>
    public static unsafe PseudoTerminal Open(Box? size)
    {
        var master = new FileDescriptor(Terminals.PosixOpenpt(OpenFlags.O_RDWR | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC));
        if (master.IsInvalid) throw new RuntimeError($"opening a pseudo-terminal: {Processes.LastError()}");
        byte* name = stackalloc byte[128];
        if (Terminals.Grantpt(master.Number) < 0 || Terminals.Unlockpt(master.Number) < 0 || Terminals.PtsnameR(master.Number, name, 128) != 0)
        {
            string error = Processes.LastError();
            master.Dispose();
            throw new RuntimeError($"setting up the pseudo-terminal: {error}");
        }
        string path = Marshal.PtrToStringUTF8((nint)name)!;
        var slave = new FileDescriptor(Processes.Open(path, OpenFlags.O_RDWR | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC, 0));
        if (slave.IsInvalid)
        {
            string error = Processes.LastError();
            master.Dispose();
            throw new RuntimeError($"opening {path}: {error}");
        }
        if (size is { Height: > 0 } or { Width: > 0 })
        {
            var ws = new Terminals.WindowSize { Rows = (ushort)size!.Height, Columns = (ushort)size.Width };
            Terminals.Ioctl(master.Number, Terminals.TIOCSWINSZ, &ws);
        }
        return new PseudoTerminal(master, slave, path);
    }

    /// <summary>Sends the master to the console socket at <paramref name="socketPath"/>, then closes our copy.</summary>
    public unsafe void SendMaster(string socketPath)
    {
        using (var fd = new FileDescriptor(LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0)))
        {
            if (fd.IsInvalid) throw new RuntimeError($"creating a socket: {Processes.LastError()}");
            int length = Sockets.MakeAddress(socketPath, out var address);
            if (LibC.connect(fd.Number, (sockaddr*)&address, length) < 0)
                throw new RuntimeError($"connecting to console socket {socketPath}: {Processes.LastError()}");
            int master = Master;
            long sent = ScmRights.Send(fd.Number, Encoding.UTF8.GetBytes(Name), new ReadOnlySpan<int>(in master));
            if (sent < 0)
                throw new RuntimeError($"sending the terminal to console socket {socketPath}: {Marshal.GetPInvokeErrorMessage((int)-sent)}");
        }
        _master.Dispose();
    }

    /// <summary>True if our fd <paramref name="fd"/> is a terminal (run -t without a console socket).</summary>
    public static bool IsTerminal(int fd) => Terminals.IsATty(fd) == 1;

    /// <summary>Closes what we still hold.</summary>
    public void Dispose()
    {
        _master.Dispose();
        _slave.Dispose();
    }
}
