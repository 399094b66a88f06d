namespace RunscNet.Runtime.Lifecycle;

/// <summary>
/// The environment of the sandbox's long-lived processes (gofer, boot): ours, plus a small GC
/// allocation budget, because each of them idles for the container's whole life and the default
/// budget (sized from the CPU cache) leaves megabytes of young-generation heap resident in each.
/// A value the caller set already is kept.
/// </summary>
public static class SandboxProcessEnvironment
{
    /// <summary>The NativeAOT GC's gen0 budget knob (hex bytes): 512 KiB.</summary>
    public const string Gen0Budget = "DOTNET_GCgen0size=80000";

    /// <summary>NAME=VALUE entries for the gofer and boot processes.</summary>
    public static List<string> Build()
    {
        var result = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            result.Add($"{e.Key}={e.Value}");
        string name = Gen0Budget[..(Gen0Budget.IndexOf('=') + 1)];
        if (!result.Exists(v => v.StartsWith(name, StringComparison.Ordinal))) result.Add(Gen0Budget);
        return result;
    }
}
