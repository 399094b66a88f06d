namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// Which sandbox a new container belongs to, from the annotations CRI runtimes write into its
/// spec: containerd's <c>io.kubernetes.cri.container-type</c> (<c>sandbox</c> | <c>container</c>) and
/// <c>io.kubernetes.cri.sandbox-id</c>, or CRI-O's <c>io.kubernetes.cri-o.ContainerType</c> and
/// <c>io.kubernetes.cri-o.SandboxID</c>. A spec without them, or of type <c>sandbox</c>, starts
/// a sandbox of its own (the pod's root container, whose ID is the sandbox ID).
/// </summary>
public static class SandboxMembership
{
    private const string CriType = "io.kubernetes.cri.container-type", CriSandbox = "io.kubernetes.cri.sandbox-id";
    private const string CrioType = "io.kubernetes.cri-o.ContainerType", CrioSandbox = "io.kubernetes.cri-o.SandboxID";

    /// <summary>
    /// The ID of the sandbox container <paramref name="containerId"/> joins, or null when it
    /// starts its own. Throws <see cref="RuntimeError"/> for a type we do not know or a
    /// <c>container</c> without a sandbox ID.
    /// </summary>
    public static string? SandboxToJoin(string containerId, Dictionary<string, string>? annotations)
    {
        if (annotations == null) return null;
        string? type = Get(annotations, CriType, CrioType);
        if (type == null || type == "sandbox") return null;
        if (type != "container")
            throw new RuntimeError($"annotation {CriType}: unknown container type \"{type}\" (expected \"sandbox\" or \"container\")");
        string? sandbox = Get(annotations, CriSandbox, CrioSandbox);
        if (string.IsNullOrEmpty(sandbox))
            throw new RuntimeError($"container {containerId} is of type \"container\" but its spec names no sandbox ({CriSandbox})");
        // A container naming itself is the sandbox's root after all.
        return sandbox == containerId ? null : sandbox;
    }

    private static string? Get(Dictionary<string, string> annotations, string cri, string crio)
        => annotations.TryGetValue(cri, out var v) ? v : annotations.TryGetValue(crio, out v) ? v : null;
}
