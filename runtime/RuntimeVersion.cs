namespace RunscNet.Runtime;

/// <summary>Version strings printed by --version and features.</summary>
public static class RuntimeVersion
{
    /// <summary>runsc-net's own version.</summary>
    public const string Version = "0.1.0";

    /// <summary>The OCI runtime-spec version implemented.</summary>
    public const string OciSpecVersion = "1.0.2";

    /// <summary>The text of --version (runc's layout).</summary>
    public static string Text => $"runsc-net version {Version}\nspec: {OciSpecVersion}\n";
}
