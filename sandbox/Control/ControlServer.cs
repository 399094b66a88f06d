using System.Runtime.InteropServices;
using Tmds.Linux;
using static RunscNet.Sentry.Control.ControlSocketInterop;

// Lock order: ControlServer._replyLock (counts replies in flight for a clean exit) is a leaf.

namespace RunscNet.Sentry.Control;

/// <summary>
/// The sandbox's end of the control socket: accepts connections on the listening socket that
/// create handed over, reads one <see cref="ControlRequest"/> per connection, calls
/// <see cref="ISandboxControl"/> and answers with a <see cref="ControlResponse"/>. Each connection
/// has its own thread, so a long Wait does not hold up a Signal.
/// </summary>
internal sealed class ControlServer
{
    private readonly object _replyLock = new();
    private int _pendingReplies;
    private readonly int _listenFd;
    private readonly ISandboxControl _control;
    private readonly Action<string>? _log;
    private volatile bool _stopping;

    private readonly uint _ownerUid;

    /// <summary>
    /// Serves <paramref name="control"/> on listening socket <paramref name="listenFd"/>. Only
    /// peers running as uid 0 or as <paramref name="ownerUid"/> are served; by default that is
    /// the owner of the listening socket, i.e. the uid that created it (the container's creator:
    /// a socket's inode belongs to the fsuid of socket(2)'s caller).
    /// </summary>
    public ControlServer(int listenFd, ISandboxControl control, Action<string>? log = null, uint? ownerUid = null)
    {
        _listenFd = listenFd;
        _control = control;
        _log = log;
        _ownerUid = ownerUid ?? SocketOwner(listenFd);
        _rootIsHostRoot = UidMapIsIdentity();
    }

    /// <summary>
    /// True when this process's uid 0 is the host's root (no user namespace of its own). In boot's
    /// user namespace only one host uid is mapped (to 0): SO_PEERCRED then shows that host uid as
    /// 0 and every unmapped one, host root included, as the overflow uid, like the socket's owner.
    /// </summary>
    private readonly bool _rootIsHostRoot;

    private static bool UidMapIsIdentity()
    {
        try
        {
            string[] f = File.ReadAllText("/proc/self/uid_map").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return f is ["0", "0", "4294967295"];
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static unsafe uint SocketOwner(int fd)
    {
        LinuxStat st;
        return Interop.HostFiles.fstat(fd, &st) == 0 ? st.Uid : 0;
    }

    /// <summary>
    /// Whether the peer of accepted connection <paramref name="fd"/> may use the control socket:
    /// root or the container's creator (SO_PEERCRED, the credentials of its connect(2)). Anyone
    /// else could otherwise list, signal and exec in the container.
    /// </summary>
    private bool PeerAllowed(int fd, out string peer)
    {
        if (!TryPeerCredentials(fd, out var c))
        {
            peer = "unknown peer";
            return false;
        }
        peer = $"pid {(int)c.pid} uid {(uint)c.uid}";
        // In a user namespace uid 0 is the one mapped host uid (the sandbox's own), never host
        // root; host root shows as the overflow uid, as the socket's owner does. The socket's
        // 0600 mode (checked by the host kernel at connect) keeps other unmapped uids out.
        uint uid = c.uid;
        return uid == _ownerUid || (uid == 0 && _rootIsHostRoot);
    }

    /// <summary>Starts the accept loop on a background thread and returns at once.</summary>
    public Thread Start()
    {
        var thread = new Thread(Serve) { IsBackground = true, Name = "control-accept" };
        thread.Start();
        return thread;
    }

    /// <summary>Accepts and serves connections until <see cref="Stop"/> (blocks the calling thread).</summary>
    public unsafe void Serve()
    {
        while (!_stopping)
        {
            using var accepted = new FileDescriptor(LibC.accept4(_listenFd, null, null, LibC.SOCK_CLOEXEC));
            if (accepted.IsInvalid)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR) continue;
                if (_stopping) return;
                _log?.Invoke($"control: accept failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                return;
            }
            if (!PeerAllowed(accepted.Number, out string peer))
            {
                _log?.Invoke($"control: refused a connection from {peer} (only uid 0 and uid {_ownerUid} are served)");
                continue;
            }
            var connection = new ControlConnection(accepted.Number);
            accepted.Release(); // the connection owns it now
            var worker = new Thread(() => Handle(connection)) { IsBackground = true, Name = "control-request" };
            worker.Start();
        }
    }

    /// <summary>Stops accepting connections (requests in progress finish).</summary>
    public void Stop()
    {
        _stopping = true;
        LibC.shutdown(_listenFd, LibC.SHUT_RDWR);
    }

    /// <summary>Serves one request on <paramref name="connection"/> and closes it.</summary>
    public void Handle(ControlConnection connection)
    {
        using (connection)
        {
            int[] fds = [];
            ControlResponse response;
            bool counted = false;
            try
            {
                var request = connection.Receive<ControlRequest>(out fds);
                _log?.Invoke($"control: {request.Operation}");
                lock (_replyLock) _pendingReplies++;
                counted = true;
                using var hangup = request is { Operation: ControlOperation.Wait, KillOnHangup: true, Pid: > 0 }
                    ? HangupWatch.Start(connection.Fd, () => _control.KillProcess(request.Pid), _log)
                    : null;
                response = Dispatch(request, fds);
            }
            catch (EndOfStreamException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                response = new ControlResponse { Error = e.Message };
            }
            finally
            {
                // Fds donated for an exec belong to the new process now (the kernel dup'd what it keeps).
                foreach (int fd in fds) if (fd >= 0) FileDescriptor.Close(fd);
            }
            try
            {
                connection.Send(response);
            }
            catch (IOException e)
            {
                _log?.Invoke($"control: reply lost: {e.Message}");
            }
            finally
            {
                if (counted)
                {
                    lock (_replyLock)
                    {
                        _pendingReplies--;
                        Monitor.PulseAll(_replyLock);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Blocks (at most <paramref name="limit"/>) until every request received so far has been
    /// answered, so the sandbox process may exit without cutting off a reply (a Wait's status, or
    /// the Start of an init that exits at once).
    /// </summary>
    public void WaitForPendingReplies(TimeSpan limit)
    {
        long deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        lock (_replyLock)
        {
            while (_pendingReplies > 0)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(_replyLock, (int)left)) return;
            }
        }
    }

    private ControlResponse Dispatch(ControlRequest request, int[] fds)
    {
        if (request.ContainerId.Length > 0 || request.Operation == ControlOperation.CreateContainer)
            return DispatchToContainer(request, fds);
        var response = new ControlResponse();
        switch (request.Operation)
        {
            case ControlOperation.Ping:
                break;
            case ControlOperation.Start:
                _control.Start();
                break;
            case ControlOperation.Signal:
                _control.Signal(request.Signal, request.All);
                break;
            case ControlOperation.Processes:
                foreach (var p in _control.Processes())
                {
                    response.Processes.Add(new ControlProcess
                    {
                        Pid = p.Pid, PPid = p.PPid, Uid = p.Uid, Command = p.Command, State = p.State,
                        StartTimeTicks = p.StartTimeTicks,
                    });
                }
                break;
            case ControlOperation.Exec:
                response.Pid = _control.Exec(new ExecRequest(request.Args, request.Env, request.Cwd, request.Uid,
                    request.Gid, request.AdditionalGids.Select(uint.Parse).ToList(), request.Terminal, fds));
                break;
            case ControlOperation.Wait:
                response.WaitStatus = _control.Wait(request.Pid);
                break;
            case ControlOperation.Pause:
                _control.Pause();
                break;
            case ControlOperation.Resume:
                _control.Resume();
                break;
            case ControlOperation.Unimplemented:
                foreach (var u in _control.UnimplementedCalls())
                    response.Unimplemented.Add(new ControlUnimplemented { Program = u.Program, Number = u.Number, Name = u.Name, Count = u.Count });
                break;
            case ControlOperation.Stacks:
                foreach (var t in _control.Stacks())
                {
                    response.Tasks.Add(new ControlTask
                    {
                        Tid = t.Tid, Pid = t.Pid, Name = t.Name, State = t.State,
                        SyscallPlusOne = t.Syscall + 1, SyscallName = t.SyscallName,
                    });
                }
                break;
            case ControlOperation.Checkpoint:
                if (fds.Length != 1) throw new InvalidOperationException("checkpoint: the request carries no image file");
                _control.Checkpoint(fds[0], request.ImageContainerId ?? "", request.RuntimeVersion ?? "", request.LeaveRunning);
                break;
            case ControlOperation.Restore:
                if (fds.Length != 1) throw new InvalidOperationException("restore: the request carries no image file");
                _control.Restore(fds[0], request.ImageDigest ?? "");
                break;
            default:
                throw new InvalidOperationException($"unknown control operation {(int)request.Operation}");
        }
        return response;
    }

    /// <summary>A request about a container that joined the sandbox (named by its ID).</summary>
    private ControlResponse DispatchToContainer(ControlRequest request, int[] fds)
    {
        if (_control is not ISubcontainerControl containers)
            throw new InvalidOperationException("this sandbox cannot hold other containers");
        string id = request.ContainerId;
        if (!StateFile.ContainerId.IsValid(id)) throw new InvalidOperationException("invalid container ID");
        var response = new ControlResponse();
        switch (request.Operation)
        {
            case ControlOperation.CreateContainer:
                if (fds.Length != 6) throw new InvalidOperationException($"create container: expected 6 fds, got {fds.Length}");
                var spec = StateFile.Oci.SpecFile.Deserialize(System.Text.Encoding.UTF8.GetBytes(request.SpecJson));
                // The gofer end, exit record and waiter pipe are the container's now; the server
                // closes the stdio fds it was sent.
                int gofer = fds[0], exitRecord = fds[4], notify = fds[5];
                fds[0] = fds[4] = fds[5] = -1;
                containers.CreateContainer(id, spec, gofer, fds[1..4], request.Terminal, exitRecord, notify);
                break;
            case ControlOperation.DestroyContainer:
                containers.DestroyContainer(id);
                break;
            case ControlOperation.Start:
                containers.Start(id);
                break;
            case ControlOperation.Signal:
                containers.Signal(id, request.Signal, request.All);
                break;
            case ControlOperation.Processes:
                foreach (var p in containers.Processes(id))
                {
                    response.Processes.Add(new ControlProcess
                    {
                        Pid = p.Pid, PPid = p.PPid, Uid = p.Uid, Command = p.Command, State = p.State,
                        StartTimeTicks = p.StartTimeTicks,
                    });
                }
                break;
            case ControlOperation.Exec:
                response.Pid = containers.Exec(id, new ExecRequest(request.Args, request.Env, request.Cwd, request.Uid,
                    request.Gid, request.AdditionalGids.Select(uint.Parse).ToList(), request.Terminal, fds));
                break;
            case ControlOperation.Wait:
                response.WaitStatus = containers.Wait(id, request.Pid);
                break;
            case ControlOperation.Pause:
                containers.Pause(id);
                break;
            case ControlOperation.Resume:
                containers.Resume(id);
                break;
            default:
                throw new InvalidOperationException($"{request.Operation} of a container that joined the sandbox is not supported yet");
        }
        return response;
    }
}
