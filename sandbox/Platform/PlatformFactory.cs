using RunscNet.Sentry.Platform.Systrap;

namespace RunscNet.Sentry.Platform;

/// <summary>Creates the platform named by <c>--platform</c>.</summary>
internal static class PlatformFactory
{
    /// <summary>The platform used when none is named.</summary>
    public const string Default = "systrap";

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static readonly string[] Names = { "ptrace", "systrap" };

    /// <summary>Creates platform <paramref name="name"/> (ptrace or systrap); throws for another name.</summary>
    public static IPlatform Create(string name) => name switch
    {
        "ptrace" => new PtracePlatform(),
        "systrap" => new SystrapPlatform(),
        _ => throw new ArgumentException($"unknown platform {name}: use ptrace or systrap"),
    };
}
