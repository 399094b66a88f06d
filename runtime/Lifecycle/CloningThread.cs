using RunscNet.Runtime.Interop;

namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// The calling thread's namespaces while it clones a child into a new user namespace: a child
/// without privileges over our namespaces cannot join them itself (setns needs CAP_SYS_ADMIN over
/// the namespace's owner), so the thread joins them, clones (the child is born there) and goes
/// back. Namespaces and credentials are per thread for the kernel, and a .NET thread stays on its
/// OS thread, so the rest of the runtime never sees the change.
/// </summary>
internal sealed class ThreadNamespaces : IDisposable
{
    private readonly List<(FileDescriptor Fd, long Type)> _restore = [];

    private ThreadNamespaces() { }

    /// <summary>Joins each (nsfs fd, CLONE_NEW* type) on this thread; dispose to return.</summary>
    public static ThreadNamespaces Enter(IReadOnlyList<(int Fd, long Type)> joins)
    {
        var entered = new ThreadNamespaces();
        try
        {
            foreach (var (fd, type) in joins)
            {
                var own = new FileDescriptor(Processes.Open($"/proc/thread-self/ns/{NsName(type)}", OpenFlags.O_CLOEXEC, 0));
                if (own.IsInvalid) throw new RuntimeError($"opening our {NsName(type)} namespace: {Processes.LastError()}");
                entered._restore.Add((own, type));
                if (Processes.SetNs(fd, (int)type) < 0) throw new RuntimeError($"joining {NsName(type)} namespace: {Processes.LastError()}");
            }
            return entered;
        }
        catch
        {
            entered.Dispose();
            throw;
        }
    }

    private static string NsName(long type) => type switch
    {
        Processes.CLONE_NEWNET => "net",
        Processes.CLONE_NEWIPC => "ipc",
        Processes.CLONE_NEWUTS => "uts",
        _ => throw new RuntimeError($"joining namespace type 0x{type:x} before a user namespace is not supported"),
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        for (int i = _restore.Count - 1; i >= 0; i--)
        {
            // Failing to go back would leave this runtime thread in the container's namespace.
            if (Processes.SetNs(_restore[i].Fd.Number, (int)_restore[i].Type) < 0)
                Environment.FailFast($"cannot return to our own namespace: {Processes.LastError()}");
            _restore[i].Fd.Dispose();
        }
        _restore.Clear();
    }
}

/// <summary>
/// The calling thread without supplementary groups for the length of a clone into a new user
/// namespace: the child keeps the kernel's group ids of its creator whatever the namespace maps,
/// and with setgroups "deny" it could never drop them itself (they would go on granting group
/// access to host files). Raw calls: glibc's setgroups would change every thread.
/// </summary>
internal sealed unsafe class ThreadGroups : IDisposable
{
    private readonly uint[] _saved;

    private ThreadGroups(uint[] saved) => _saved = saved;

    /// <summary>Empties this thread's supplementary groups; dispose to restore them.</summary>
    public static ThreadGroups DropWhile()
    {
        var nr = SyscallNumbers.Current;
        long count = RawSyscalls.Syscall6(nr.GetGroups, 0, 0, 0, 0, 0, 0);
        if (count < 0) throw new RuntimeError("getgroups failed");
        uint[] saved = new uint[count];
        fixed (uint* p = saved)
        {
            if (count > 0 && RawSyscalls.Syscall6(nr.GetGroups, count, (long)p, 0, 0, 0, 0) != count) throw new RuntimeError("getgroups failed");
        }
        if (RawSyscalls.Syscall6(nr.SetGroups, 0, 0, 0, 0, 0, 0) < 0) throw new RuntimeError($"setgroups: errno {*RawSyscalls.ErrnoLocation()}");
        return new ThreadGroups(saved);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        fixed (uint* p = _saved)
            RawSyscalls.Syscall6(SyscallNumbers.Current.SetGroups, _saved.Length, (long)p, 0, 0, 0, 0);
    }
}
