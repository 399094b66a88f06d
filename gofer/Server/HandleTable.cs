using RunscNet.Gofer.Interop;

namespace RunscNet.Gofer.Server;

/// <summary>
/// The handles a server has given out: numbers (never 0, never reused) mapped to the
/// <see cref="Node"/>s they name. Used by the serving thread only.
/// </summary>
internal sealed class HandleTable
{
    private readonly Dictionary<ulong, Node> _nodes = new();
    private ulong _next = 1;

    /// <summary>Number of live handles.</summary>
    public int Count => _nodes.Count;

    /// <summary>Registers <paramref name="node"/> and returns its new handle.</summary>
    public ulong Add(Node node)
    {
        ulong handle = _next++;
        _nodes.Add(handle, node);
        return handle;
    }

    /// <summary>The node of <paramref name="handle"/>, or null when unknown (the caller answers EBADF).</summary>
    public Node? Find(ulong handle) => _nodes.TryGetValue(handle, out Node? node) ? node : null;

    /// <summary>Forgets <paramref name="handle"/> and closes its fd; unknown handles are ignored.</summary>
    public void Release(ulong handle)
    {
        if (_nodes.Remove(handle, out Node? node))
        {
            Files.Close(node.Fd);
        }
    }

    /// <summary>Closes every held fd.</summary>
    public void Clear()
    {
        foreach (Node node in _nodes.Values)
        {
            Files.Close(node.Fd);
        }
        _nodes.Clear();
    }
}
