namespace RunscNet.Sentry.Kernel.Ipc;

/// <summary>One queued System V message: its type and text.</summary>
internal sealed record IpcMessage(long Type, byte[] Text);

/// <summary>
/// A System V message queue (msgget(2)): messages in arrival order, limited to
/// <see cref="MaxBytes"/> bytes of text (and as many messages). Guarded by <see cref="IpcNamespace.Lock"/>.
/// </summary>
internal sealed class MessageQueue : IIpcObject
{
    /// <summary>MSGMAX: the largest message.</summary>
    public const int MaxMessageSize = 8192;

    /// <summary>MSGMNB: the default queue size in bytes.</summary>
    public const int DefaultMaxBytes = 16384;

    /// <summary>msgrcv flags.</summary>
    public const int IPC_NOWAIT = 0x800, MSG_NOERROR = 0x1000, MSG_EXCEPT = 0x2000, MSG_COPY = 0x4000;

    /// <summary>An empty queue.</summary>
    public MessageQueue(int id, IpcPermissions perm)
    {
        Id = id;
        Perm = perm;
        ChangeTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <inheritdoc/>
    public int Id { get; }

    /// <inheritdoc/>
    public IpcPermissions Perm { get; }

    /// <summary>The messages, oldest first.</summary>
    public List<IpcMessage> Messages { get; } = new();

    /// <summary>msg_cbytes: bytes of text queued.</summary>
    public long Bytes { get; private set; }

    /// <summary>msg_qbytes: the limit (IPC_SET may change it).</summary>
    public long MaxBytes { get; set; } = DefaultMaxBytes;

    /// <summary>msg_stime, msg_rtime, msg_ctime (seconds).</summary>
    public long SendTime { get; set; }

    /// <summary>msg_rtime.</summary>
    public long ReceiveTime { get; set; }

    /// <summary>msg_ctime.</summary>
    public long ChangeTime { get; set; }

    /// <summary>msg_lspid, msg_lrpid.</summary>
    public int LastSender { get; set; }

    /// <summary>msg_lrpid.</summary>
    public int LastReceiver { get; set; }

    /// <summary>True once IPC_RMID removed the queue.</summary>
    public bool Removed { get; set; }

    /// <summary>Notified on every send, receive and removal.</summary>
    public WaitQueue Queue { get; } = new();

    /// <summary>True if a message of <paramref name="size"/> bytes fits now.</summary>
    public bool HasRoomFor(int size) => Bytes + size <= MaxBytes && Messages.Count + 1 <= MaxBytes;

    /// <summary>Appends a message (the caller checked <see cref="HasRoomFor"/>).</summary>
    public void Send(IpcMessage m, int pid)
    {
        Messages.Add(m);
        Bytes += m.Text.Length;
        LastSender = pid;
        SendTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Queue.Notify();
    }

    /// <summary>Restore: appends a saved message without touching the times or pids.</summary>
    public void RestoreMessage(IpcMessage m)
    {
        Messages.Add(m);
        Bytes += m.Text.Length;
    }

    /// <summary>
    /// The index of the message msgrcv selects: type 0 the first; a positive type the first of
    /// that type (or, with MSG_EXCEPT, of another); a negative type the first of the lowest type
    /// not above |type|. -1 if none.
    /// </summary>
    public int Find(long type, int flags)
    {
        if (type == 0) return Messages.Count > 0 ? 0 : -1;
        if (type > 0)
        {
            bool except = (flags & MSG_EXCEPT) != 0;
            return Messages.FindIndex(m => except ? m.Type != type : m.Type == type);
        }
        int best = -1;
        for (int i = 0; i < Messages.Count; i++)
            if (Messages[i].Type <= -type && (best < 0 || Messages[i].Type < Messages[best].Type)) best = i;
        return best;
    }

    /// <summary>Removes message <paramref name="index"/> for a receiver.</summary>
    public IpcMessage Take(int index, int pid)
    {
        var m = Messages[index];
        Messages.RemoveAt(index);
        Bytes -= m.Text.Length;
        LastReceiver = pid;
        ReceiveTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Queue.Notify();
        return m;
    }
}
