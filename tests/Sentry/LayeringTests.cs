using System.Text.RegularExpressions;
using Xunit;

namespace RunscNet.Tests.Sentry;

/// <summary>
/// The Sentry's layers (docs/ARCHITECTURE.md): the kernel, the VFS, memory, the platforms and the
/// loader sit below the system-call handlers and never call up into them. The handlers' namespace
/// and their classes (FooSyscalls) may appear only in Syscalls/ and in the boot glue above it.
/// </summary>
public sealed partial class LayeringTests
{
    [GeneratedRegex(@"RunscNet\.Sentry\.Syscalls|\b[A-Z]\w*Syscalls\.|\bLinuxSyscalls\b|\bSyscallRegistrations\b")]
    private static partial Regex UpwardReference();

    [Fact]
    public void LowerLayersOfTheSentryNeverReferenceTheSyscallHandlers()
    {
        string sandbox = Path.Combine(RepositoryRoot(), "sandbox");
        var offenders = new List<string>();
        int files = 0;
        foreach (string layer in new[] { "Kernel", "Vfs", "Memory", "Platform", "Loader" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(sandbox, layer), "*.cs", SearchOption.AllDirectories))
            {
                files++;
                int n = 0;
                foreach (string line in File.ReadLines(file))
                {
                    n++;
                    if (line.TrimStart().StartsWith("//", StringComparison.Ordinal)) continue;
                    if (UpwardReference().IsMatch(line)) offenders.Add($"{Path.GetRelativePath(sandbox, file)}:{n}: {line.Trim()}");
                }
            }
        }
        Assert.True(files > 100, $"only {files} source files found under {sandbox}");
        Assert.True(offenders.Count == 0, "lower layers call up into Syscalls/:\n" + string.Join('\n', offenders));
    }

    /// <summary>The checkout's root: the first directory above the test binary that holds Sandbox.sln.</summary>
    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Sandbox.sln"))) return d.FullName;
        }
        throw new InvalidOperationException($"no Sandbox.sln above {AppContext.BaseDirectory}");
    }
}
